"""Storefront pages (/@handle) and the follow button, with htmx and as a plain form."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.social.factories import add_article, add_draft
from zhongcao.social import services as social

HTMX_FOLLOW = {"HX-Request": "true", "HX-Target": "follow-button"}


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_storefront_shows_profile_articles_and_picks_from_published_articles_only(
    client, session, make_user, make_product
):
    creator = make_user(handle="MeiMei", display_name="美美", bio="护肤测评 10 年", is_creator=True)
    public_pick = make_product(title="温和洁面乳", price_fen=12900)
    sold_out_pick = make_product(title="限量面膜", stock=0)
    draft_pick = make_product(title="草稿里的精华")
    hidden_pick = make_product(title="隐藏文章里的面霜")
    add_article(session, creator, minutes=1, title="洁面乳横评", products=[public_pick, sold_out_pick])
    add_draft(session, creator, title="还没写完", products=[draft_pick])
    add_article(session, creator, minutes=2, title="被管理员隐藏", is_hidden=True, products=[hidden_pick])

    response = client.get("/@MeiMei")
    html = _html(response)

    assert response.status_code == 200
    assert "美美" in html and "@MeiMei" in html and "护肤测评 10 年" in html
    assert "洁面乳横评" in html
    assert "温和洁面乳" in html and "¥129.00" in html
    assert "限量面膜" in html and "已售罄 Sold out" in html
    for private in ("还没写完", "草稿里的精华", "被管理员隐藏", "隐藏文章里的面霜", "/write/"):
        assert private not in html


def test_storefront_head_has_canonical_opengraph_and_feed_link(client, make_user):
    make_user(handle="MeiMei", bio="护肤测评", is_creator=True)

    html = _html(client.get("/@MeiMei"))

    assert '<link rel="canonical" href="http://localhost/@MeiMei">' in html
    assert '<meta property="og:type" content="profile">' in html
    assert '<meta name="description" content="护肤测评">' in html
    assert 'type="application/atom+xml"' in html and 'href="http://localhost/@MeiMei/feed.xml"' in html


@pytest.mark.parametrize("app_overrides", [{"SITE_URL": "https://zhongcao.example/"}])
def test_storefront_absolute_urls_use_the_configured_site_url(client, make_user):
    make_user(handle="MeiMei", is_creator=True)

    html = _html(client.get("/@MeiMei"))

    assert '<link rel="canonical" href="https://zhongcao.example/@MeiMei">' in html


def test_the_author_sees_drafts_with_edit_links_on_their_own_storefront(client, session, make_user, sign_in_as):
    creator = make_user(handle="MeiMei", is_creator=True)
    draft = add_draft(session, creator, title="还没写完")
    sign_in_as(client, creator)

    html = _html(client.get("/@MeiMei"))

    assert "还没写完" in html
    assert f'href="/write/{draft.id}"' in html
    assert "编辑资料 Edit profile" in html
    assert "/@MeiMei/follow" not in html


def test_handles_are_matched_ignoring_case_and_redirect_to_the_canonical_one(client, make_user):
    make_user(handle="MeiMei", is_creator=True)

    response = client.get("/@meimei?before=1-2")

    assert response.status_code == 301
    assert response.headers["Location"] == "/@MeiMei?before=1-2"


def test_unknown_and_deactivated_handles_are_not_found(client, make_user):
    make_user(handle="Sleeper", is_creator=True, is_active=False)

    assert client.get("/@nobody_here").status_code == 404
    assert client.get("/@Sleeper").status_code == 404


def test_a_reader_who_is_not_a_creator_gets_a_plain_unindexed_profile(client, make_user):
    make_user(handle="JustReading", display_name="路人甲")

    response = client.get("/@JustReading")
    html = _html(response)

    assert response.status_code == 200
    assert "路人甲" in html
    assert '<meta name="robots" content="noindex">' in html
    assert "follow-button" not in html and "我的推荐" not in html


def test_follow_with_htmx_returns_the_button_and_announces_the_change(client, session, make_user, sign_in_as):
    creator = make_user(handle="MeiMei", is_creator=True)
    reader = make_user()
    sign_in_as(client, reader)

    response = client.post("/@MeiMei/follow", data={"next": "/@MeiMei"}, headers=HTMX_FOLLOW)
    html = _html(response)

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "follow-changed"
    assert html.lstrip().startswith('<div id="follow-button"')
    assert "已关注 Following" in html and 'action="/@MeiMei/unfollow"' in html
    assert social.is_following(session, follower_id=reader.id, creator_id=creator.id)


def test_unfollow_with_htmx_returns_the_follow_button_again(client, session, make_user, sign_in_as):
    creator = make_user(handle="MeiMei", is_creator=True)
    reader = make_user()
    social.follow(session, follower_id=reader.id, creator_id=creator.id)
    sign_in_as(client, reader)

    response = client.post("/@MeiMei/unfollow", headers=HTMX_FOLLOW)

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "follow-changed"
    assert 'action="/@MeiMei/follow"' in _html(response)
    assert not social.is_following(session, follower_id=reader.id, creator_id=creator.id)


def test_follow_without_javascript_redirects_back_with_303(client, session, make_user, sign_in_as):
    creator = make_user(handle="MeiMei", is_creator=True)
    reader = make_user()
    sign_in_as(client, reader)

    response = client.post("/@meimei/follow", data={"next": "/?tab=following"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/?tab=following"
    assert social.follower_count(session, creator.id) == 1


def test_follow_ignores_a_next_that_leaves_the_site(client, make_user, sign_in_as):
    make_user(handle="MeiMei", is_creator=True)
    sign_in_as(client, make_user())

    response = client.post("/@MeiMei/follow", data={"next": "//evil.example/phish"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/@MeiMei"


def test_anonymous_follow_with_htmx_is_sent_to_sign_in(client, session, make_user):
    creator = make_user(handle="MeiMei", is_creator=True)

    response = client.post("/@MeiMei/follow", data={"next": "/@MeiMei"}, headers=HTMX_FOLLOW)

    assert response.status_code == 401
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/signin"
    assert parse_qs(target.query)["next"] == ["/@MeiMei"]
    assert social.follower_count(session, creator.id) == 0


def test_anonymous_follow_without_javascript_is_sent_to_sign_in(client, make_user):
    make_user(handle="MeiMei", is_creator=True)

    response = client.post("/@MeiMei/follow", data={"next": "/@MeiMei"})

    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/signin"
    assert parse_qs(target.query)["next"] == ["/@MeiMei"]


def test_following_yourself_shows_a_message_instead_of_failing(client, make_user, sign_in_as):
    creator = make_user(handle="MeiMei", is_creator=True)
    sign_in_as(client, creator)

    refused = client.post("/@MeiMei/follow", headers=HTMX_FOLLOW)

    assert refused.status_code == 422
    assert "不能关注自己" in _html(refused)


def test_following_a_plain_reader_shows_a_message_both_ways(client, make_user, sign_in_as):
    make_user(handle="PlainReader")
    sign_in_as(client, make_user())

    refused = client.post("/@PlainReader/follow", headers=HTMX_FOLLOW)
    plain = client.post("/@PlainReader/follow", follow_redirects=True)

    assert refused.status_code == 422
    assert "只能关注达人" in _html(refused)
    assert plain.status_code == 200
    assert "只能关注达人" in _html(plain)


def test_follower_count_fragment_reloads_on_its_own(client, session, make_user):
    creator = make_user(handle="MeiMei", is_creator=True)
    social.follow(session, follower_id=make_user().id, creator_id=creator.id)

    response = client.get("/@MeiMei", headers={"HX-Request": "true", "HX-Target": "follower-count"})
    html = _html(response)

    assert html.lstrip().startswith('<span id="follower-count"')
    assert "<strong>1</strong>" in html
    assert "<html" not in html


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_follow_needs_the_csrf_token(client, session, make_user, sign_in_as):
    creator = make_user(handle="MeiMei", is_creator=True)
    sign_in_as(client, make_user())

    forged = client.post("/@MeiMei/follow")
    page = _html(client.get("/@MeiMei"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    genuine = client.post("/@MeiMei/follow", data={"csrf_token": token})

    assert forged.status_code == 400
    assert genuine.status_code == 303
    assert social.follower_count(session, creator.id) == 1


def test_follow_button_looks_up_the_follow_when_the_including_page_does_not_say(app, session, make_user):
    from flask import render_template
    from flask_login import login_user

    from zhongcao.web.auth import SignedInUser

    creator = make_user(handle="MeiMei", is_creator=True)
    reader = make_user()
    social.follow(session, follower_id=reader.id, creator_id=creator.id)

    with app.test_request_context("/@MeiMei/some-article"):
        login_user(SignedInUser(reader))
        html = render_template("creators/partials/follow_button.html", creator=creator)

    assert 'action="/@MeiMei/unfollow"' in html
    assert 'name="next" value="/@MeiMei/some-article"' in html


def test_anonymous_visitors_share_the_storefront_and_see_follows_and_articles_at_once(
    client, session, make_user
):
    from zhongcao.db import new_session

    creator = make_user(handle="ShopCache", display_name="缓存店主", is_creator=True)
    add_article(session, creator, minutes=1, title="第一篇测评")
    first = _html(client.get("/@ShopCache"))
    assert _html(client.get("/@ShopCache")) == first  # the second visitor gets the same rendering

    with new_session(client.application.extensions["zhongcao.engine"]) as other:
        social.follow(other, follower_id=make_user().id, creator_id=creator.id)
    followed = _html(client.get("/@ShopCache"))
    add_article(session, creator, minutes=2, title="刚发布的第二篇")
    published = _html(client.get("/@ShopCache"))

    assert re.search(r"<strong>0</strong> 粉丝", first)
    assert re.search(r"<strong>1</strong> 粉丝", followed)
    assert "刚发布的第二篇" in published
