"""The home page: latest, popular and following tabs, creators to follow, and nothing private."""
from __future__ import annotations

import re

from tests.social.factories import add_article, add_draft
from zhongcao.social import services as social

HTMX_FEED = {"HX-Request": "true", "HX-Target": "home-feed"}


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_home_lists_latest_articles_with_labels_and_creators_to_follow(client, session, make_user):
    creator = make_user(handle="MeiMei", display_name="美美", is_creator=True)
    add_article(session, creator, minutes=1, title="旧的测评")
    add_article(session, creator, minutes=2, title="带货攻略", kind="guide", has_commission=True)

    response = client.get("/")
    html = _html(response)

    assert response.status_code == 200
    assert html.index("带货攻略") < html.index("旧的测评")
    assert "攻略 Guide" in html and '<span class="ad-label"' in html
    assert 'href="/@MeiMei/' in html
    assert "推荐达人 · Creators to follow" in html and "美美" in html


def test_drafts_and_hidden_articles_never_appear_on_the_home_page(client, session, make_user):
    creator = make_user(is_creator=True)
    add_draft(session, creator, title="草稿不公开", view_count=999)
    add_article(session, creator, minutes=1, title="已被隐藏", is_hidden=True, view_count=999)
    add_article(session, creator, minutes=2, title="公开笔记")

    pages = [_html(client.get(url)) for url in ("/", "/?tab=popular")]

    for html in pages:
        assert "公开笔记" in html
        assert "草稿不公开" not in html and "已被隐藏" not in html


def test_popular_tab_orders_by_views(client, session, make_user):
    creator = make_user(is_creator=True)
    add_article(session, creator, minutes=5, title="新但少人看", view_count=3)
    add_article(session, creator, minutes=1, title="老但很火", view_count=500)

    html = _html(client.get("/?tab=popular", headers=HTMX_FEED))

    assert html.lstrip().startswith('<section id="home-feed"')
    assert html.index("老但很火") < html.index("新但少人看")


def test_tab_switch_with_htmx_returns_only_the_feed_fragment(client, session, make_user):
    add_article(session, make_user(is_creator=True), title="一篇笔记")

    fragment = client.get("/", headers=HTMX_FEED)
    restore = client.get("/", headers={**HTMX_FEED, "HX-History-Restore-Request": "true"})

    assert _html(fragment).lstrip().startswith('<section id="home-feed"')
    assert "<html" not in _html(fragment)
    assert "<html" in _html(restore)


def test_following_feed_shows_a_followed_creators_new_article_and_not_an_unfollowed_one(
    client, session, make_user, sign_in_as
):
    followed = make_user(is_creator=True)
    unfollowed = make_user(is_creator=True)
    reader = make_user()
    social.follow(session, follower_id=reader.id, creator_id=followed.id)
    social.follow(session, follower_id=reader.id, creator_id=unfollowed.id)
    social.unfollow(session, follower_id=reader.id, creator_id=unfollowed.id)
    sign_in_as(client, reader)

    add_article(session, followed, minutes=30, title="关注的达人刚发布")
    add_article(session, unfollowed, minutes=31, title="取关的达人也发布了")
    add_draft(session, followed, title="关注的达人的草稿")
    html = _html(client.get("/?tab=following", headers=HTMX_FEED))

    assert "关注的达人刚发布" in html
    assert "取关的达人也发布了" not in html
    assert "关注的达人的草稿" not in html


def test_following_tab_with_no_follows_suggests_creators(client, session, make_user, sign_in_as):
    make_user(handle="MeiMei", display_name="美美", is_creator=True)
    sign_in_as(client, make_user())

    html = _html(client.get("/?tab=following"))

    assert "你还没有关注任何达人" in html
    assert 'href="/@MeiMei"' in html


def test_following_tab_asks_anonymous_readers_to_sign_in(client):
    html = _html(client.get("/?tab=following", headers=HTMX_FEED))

    assert "/signin?next=" in html


def test_latest_feed_pages_with_an_older_link(client, session, make_user):
    creator = make_user(is_creator=True)
    for n in range(14):
        add_article(session, creator, minutes=n, title=f"第{n:02d}篇")

    first = _html(client.get("/"))
    older_href = re.search(r'href="(/\?tab=latest&amp;before=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = _html(client.get(older_href, headers=HTMX_FEED))

    assert "第13篇" in first and "第02篇" in first and "第01篇" not in first
    assert "第01篇" in second and "第00篇" in second and "第02篇" not in second


def test_signed_in_readers_share_the_lists_yet_see_new_articles_at_once_and_counts_within_a_minute(
    client, monkeypatch, session, make_user, sign_in_as
):
    from zhongcao.articles import services as articles
    from zhongcao.web import page_cache

    creator = make_user(handle="ListShare", display_name="列表达人", is_creator=True)
    article = add_article(session, creator, minutes=1, title="共享列表里的笔记", view_count=7)
    first_reader, second_reader = make_user(handle="listreader1"), make_user(handle="listreader2")
    now = [5000.0]
    monkeypatch.setattr(page_cache, "_clock", lambda: now[0])
    sign_in_as(client, first_reader)
    client.get("/")
    articles.record_view(session, article_id=article.id)  # moves no content version

    sign_in_as(client, second_reader)
    shared = _html(client.get("/"))
    add_article(session, creator, minutes=2, title="新发布的笔记")
    after_publishing = _html(client.get("/"))
    now[0] += 60
    a_minute_later = _html(client.get("/"))

    assert "列表达人 · 7 阅读 views" in shared  # the most-read sidebar as the first reader loaded it
    assert "新发布的笔记" in after_publishing
    assert "列表达人 · 8 阅读 views" in a_minute_later
