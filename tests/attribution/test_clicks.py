"""Clicks on share links: bots and repeats are not counted; the signed last-click cookie."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.social.factories import add_article
from zhongcao.attribution import clicks, links
from zhongcao.attribution.models import ShareClick
from zhongcao.attribution.visitors import is_bot, visitor_hash
from zhongcao.errors import NotFound

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = "test-secret-" + "y" * 32
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40"


@pytest.fixture
def shared(session, make_user):
    article = add_article(session, make_user(is_creator=True))
    return links.share_link_for(session, sharer_id=make_user().id, kind="article", target_id=article.id)


def _click(session, code, *, visitor="v1", agent=BROWSER, viewer_id=None, now=NOW):
    return clicks.record_click(session, code=code, visitor_hash=visitor, user_agent=agent, viewer_id=viewer_id, now=now)


def _stored(session) -> list[ShareClick]:
    return list(session.exec(ShareClick.__table__.select()).all())


def test_a_human_click_is_counted_with_time_link_and_hashed_visitor(session, shared):
    visitor = visitor_hash(secret=SECRET, address="203.0.113.9", user_agent=BROWSER, now=NOW)

    click = _click(session, shared.link.code, visitor=visitor)

    assert click.is_counted and click.sets_cookie
    [row] = _stored(session)
    assert row.link_id == shared.link.id and row.clicked_at == NOW
    assert row.visitor_hash == visitor and len(visitor) == 64 and "203.0.113.9" not in visitor


@pytest.mark.parametrize("agent", [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (compatible; 360Spider)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Wget/1.21.4",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "",
    "   ",
])
def test_bots_and_empty_user_agents_are_not_counted_but_still_lead_to_the_page(session, shared, agent):
    click = _click(session, shared.link.code, agent=agent)

    assert click.reason == clicks.BOT and not click.sets_cookie
    assert click.destination.is_available
    assert _stored(session) == []


@pytest.mark.parametrize("agent", [
    BROWSER,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
])
def test_ordinary_browsers_are_not_bots(agent):
    assert not is_bot(agent)


def test_repeat_clicks_from_the_same_visitor_within_a_minute_are_not_counted(session, shared):
    code = shared.link.code

    first = _click(session, code, now=NOW)
    again = _click(session, code, now=NOW + timedelta(seconds=59))
    other_visitor = _click(session, code, visitor="v2", now=NOW + timedelta(seconds=30))
    after_a_minute = _click(session, code, now=NOW + timedelta(seconds=61))

    assert [first.reason, again.reason, other_visitor.reason, after_a_minute.reason] == [
        clicks.COUNTED, clicks.REPEAT, clicks.COUNTED, clicks.COUNTED]
    assert again.sets_cookie  # a repeat still refreshes "last click wins"
    assert clicks.count_clicks(session, link_id=shared.link.id) == 3


def test_the_sharers_own_clicks_are_not_counted_and_set_no_cookie(session, shared):
    click = _click(session, shared.link.code, viewer_id=shared.link.sharer_id)

    assert click.reason == clicks.OWN_LINK and not click.sets_cookie
    assert _stored(session) == []


def test_a_click_on_a_link_to_a_since_hidden_article_is_not_counted(session, shared):
    from zhongcao.articles.models import Article

    article = session.get(Article, shared.destination.target_id)
    article.is_hidden = True
    session.commit()

    click = _click(session, shared.link.code)

    assert click.reason == clicks.UNAVAILABLE and not click.sets_cookie
    assert _stored(session) == []


@pytest.mark.parametrize("code", ["zzzzzzzz", "../admin", "", "x" * 200])
def test_unknown_codes_raise_not_found(session, code):
    with pytest.raises(NotFound):
        _click(session, code)


def test_the_visitor_hash_changes_every_day_and_with_the_secret():
    same_day = [visitor_hash(secret=SECRET, address="198.51.100.7", user_agent=BROWSER, now=NOW + timedelta(hours=h)) for h in (0, 11)]
    next_day = visitor_hash(secret=SECRET, address="198.51.100.7", user_agent=BROWSER, now=NOW + timedelta(days=1))
    other_secret = visitor_hash(secret=SECRET + "z", address="198.51.100.7", user_agent=BROWSER, now=NOW)

    assert same_day[0] == same_day[1]
    assert next_day != same_day[0] and other_secret != same_day[0]


def test_the_cookie_names_the_sharer_and_target_until_the_window_closes(shared):
    value = clicks.make_attribution_cookie(shared.link, secret=SECRET, now=NOW)

    inside = clicks.read_attribution(value, secret=SECRET, now=NOW + timedelta(days=6, hours=23), window_days=7)
    outside = clicks.read_attribution(value, secret=SECRET, now=NOW + timedelta(days=7, seconds=1), window_days=7)
    short_window = clicks.read_attribution(value, secret=SECRET, now=NOW + timedelta(days=2), window_days=1)

    assert inside == clicks.Attribution(shared.link.code, shared.link.sharer_id, "article", shared.link.target_id, NOW)
    assert outside is None and short_window is None


def test_a_tampered_or_foreign_cookie_is_rejected(shared):
    value = clicks.make_attribution_cookie(shared.link, secret=SECRET, now=NOW)
    payload, _, signature = value.rpartition(".")
    # Change the signature's first character: its last one carries base64 padding bits, and some
    # changes there decode to the same bytes (a valid signature, and a test that failed by chance).
    start = len(payload) + 1
    flipped = value[:start] + ("A" if value[start] != "A" else "B") + value[start + 1:]
    from itsdangerous import URLSafeSerializer

    forged_sharer = URLSafeSerializer("guessed-secret", salt="zhongcao.attribution.v1").dumps(
        [shared.link.code, 1, "article", shared.link.target_id, int(NOW.timestamp())])

    for bad in (flipped, payload, signature, forged_sharer, "", None, "not-a-cookie", "a" * 5000):
        assert clicks.read_attribution(bad, secret=SECRET, now=NOW, window_days=7) is None
    assert clicks.read_attribution(value, secret="another-secret", now=NOW, window_days=7) is None


def test_a_cookie_dated_in_the_future_is_rejected(shared):
    value = clicks.make_attribution_cookie(shared.link, secret=SECRET, now=NOW + timedelta(days=1))

    assert clicks.read_attribution(value, secret=SECRET, now=NOW, window_days=7) is None

