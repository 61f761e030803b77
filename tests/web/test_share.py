"""Share routes: the dialog, /s/<code> (never an open redirect), click counting, the attribution cookie,
and the article view beacon."""
from __future__ import annotations

from datetime import datetime, timezone
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest
from sqlmodel import func, select

from tests.social.factories import add_article
from zhongcao.articles.models import Article
from zhongcao.attribution import clicks, links
from zhongcao.attribution.models import ArticleDailyViews, ShareClick, ShareLink
from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.web.security import is_local_path

BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.40"}
DIALOG = {"HX-Request": "true", "HX-Target": "share-dialog"}
SECRET = "test-secret-" + "x" * 32  # the app fixture's SECRET_KEY


def _html(response) -> str:
    return response.get_data(as_text=True)


def _code(html: str) -> str:
    return html.split("/s/", 1)[1][:8]


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _set_cookie(response) -> SimpleCookie | None:
    headers = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(clicks.ATTRIBUTION_COOKIE + "=")]
    if not headers:
        return None
    cookie = SimpleCookie()
    cookie.load(headers[0])
    return cookie


@pytest.fixture
def article(session, make_user):
    return add_article(session, make_user(handle="amber", is_creator=True), slug="down-jacket-review", title="羽绒服测评")


@pytest.fixture
def sharer(make_user):
    return make_user(handle="reader1")


@pytest.fixture
def share_code(session, article, sharer) -> str:
    return links.share_link_for(session, sharer_id=sharer.id, kind="article", target_id=article.id).link.code


def test_the_share_dialog_fragment_shows_the_link_copy_button_and_qr_svg(client, sign_in_as, sharer, article):
    sign_in_as(client, sharer)

    response = client.get(f"/share/article/{article.id}", headers=DIALOG)
    html = _html(response)

    assert response.status_code == 200
    assert html.lstrip().startswith('<dialog id="share-dialog"')
    code = _code(html)
    assert f'data-copy="http://localhost/s/{code}"' in html
    assert '<svg role="img"' in html and "<path" in html
    assert "扫码分享到微信 · Scan to share on WeChat" in html
    assert "style=" not in html and "<script" not in html and "<html" not in html


def test_the_share_page_without_htmx_is_a_full_page_with_the_same_link(client, sign_in_as, sharer, article):
    sign_in_as(client, sharer)

    fragment = _html(client.get(f"/share/article/{article.id}", headers=DIALOG))
    page = client.get(f"/share/article/{article.id}")

    assert page.status_code == 200
    assert "<html" in _html(page) and "share-dialog-page" in _html(page)
    assert _code(_html(page)) == _code(fragment)


def test_a_product_can_be_shared_and_its_link_leads_to_the_product(client, sign_in_as, sharer, make_product):
    product = make_product(slug="cashmere-scarf")
    sign_in_as(client, sharer)

    code = _code(_html(client.get(f"/share/product/{product.id}", headers=DIALOG)))
    anonymous = client.application.test_client()
    response = anonymous.get(f"/s/{code}", headers=BROWSER)

    assert response.status_code == 302 and response.headers["Location"] == "/products/cashmere-scarf"


def test_signed_out_readers_are_asked_to_sign_in_first(client, article):
    response = client.get(f"/share/article/{article.id}")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/signin" and "next=%2Fshare%2Farticle" in location.query


def test_sharing_something_hidden_or_unknown_is_a_404(client, session, sign_in_as, sharer, make_user, make_product):
    hidden = add_article(session, make_user(is_creator=True), is_hidden=True)
    hidden_product = make_product(status=PRODUCT_HIDDEN)
    sign_in_as(client, sharer)

    statuses = [client.get(url, headers=DIALOG).status_code for url in (
        f"/share/article/{hidden.id}", f"/share/product/{hidden_product.id}", "/share/article/987654", "/share/url/1")]

    assert statuses == [404, 404, 404, 404]
    assert _count(session, ShareLink) == 0


def test_the_share_link_redirects_to_the_article_and_counts_the_click(client, session, share_code):
    response = client.get(f"/s/{share_code}", headers=BROWSER)

    assert response.status_code == 302
    assert response.headers["Location"] == "/@amber/down-jacket-review"
    assert response.headers["Cache-Control"] == "no-store"
    assert _count(session, ShareClick) == 1


def _tampered_urls(code: str, hidden_code: str) -> list[str]:
    return [
        f"/s/{code[:-1]}{'A' if code[-1] != 'A' else 'B'}",
        f"/s/{code.swapcase()}",
        f"/s/{code}x",
        f"/s/{code}//evil.example",
        f"/s/{code}/%2F%2Fevil.example",
        f"/s/{code}%2F%2Fevil.example",
        "/s/%2F%2Fevil.example",
        "/s//evil.example",
        "/s/%5C%5Cevil.example",
        f"/s/{code}%5Cevil.example",
        f"/s/{code}\\evil.example",
        "/s/@evil.example",
        f"/s/{code}@evil.example",
        f"/s/{code}/@evil.example",
        f"/s/{code}?next=https://evil.example&url=//evil.example&redirect=%2F%2Fevil.example",
        f"/s/{code}#//evil.example",
        "/s/https:%2F%2Fevil.example",
        "/s/javascript:alert(1)",
        "/s/%E2%80%AEevil.example",
        "/s/ｅｖｉｌ．ｅｘａｍｐｌｅ",
        "/s/分享链接码",
        f"/s/{code}%00",
        f"/s/{code}%0d%0aLocation:%20https://evil.example",
        f"/s/{code}/..%2F..%2Fevil.example",
        f"//s/{code}",
        "/s",
        f"/s/{code}/",
        f"/s/{hidden_code}",
    ]


def test_no_tampering_with_a_share_link_can_redirect_off_site(client, session, share_code, sharer, make_user):
    hidden = add_article(session, make_user(is_creator=True), title="后来被隐藏")
    hidden_code = links.share_link_for(session, sharer_id=sharer.id, kind="article", target_id=hidden.id).link.code
    hidden.is_hidden = True
    session.add(hidden)
    session.commit()

    for url in _tampered_urls(share_code, hidden_code):
        response = client.get(url, headers={**BROWSER, "Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        location = response.headers.get("Location")
        if location is None:
            assert response.status_code in (404, 410), url
        else:
            assert 300 <= response.status_code < 400, url
            assert is_local_path(location), (url, location)
            assert "evil" not in urlsplit(location).netloc, (url, location)
            # A redirect either cleans up the path (werkzeug merges //) or is the genuine article.
            assert location == "/@amber/down-jacket-review" or not location.startswith("/@"), (url, location)


def test_a_link_to_an_article_hidden_since_sharing_shows_a_friendly_page(client, session, share_code, article):
    article.is_hidden = True
    session.add(article)
    session.commit()

    response = client.get(f"/s/{share_code}", headers=BROWSER)

    assert response.status_code == 410
    assert "内容已下架" in _html(response) and 'href="/@amber"' in _html(response)
    assert "Location" not in response.headers and _set_cookie(response) is None


def test_an_unknown_code_is_a_404_page(client):
    response = client.get("/s/AAAAAAAA", headers=BROWSER)

    assert response.status_code == 404 and "Location" not in response.headers


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (compatible; Googlebot/2.1)", "facebookexternalhit/1.1", "curl/8.5.0", ""])
def test_bots_are_redirected_but_not_counted_and_get_no_cookie(client, session, share_code, agent):
    response = client.get(f"/s/{share_code}", headers={"User-Agent": agent})

    assert response.status_code == 302 and response.headers["Location"] == "/@amber/down-jacket-review"
    assert _set_cookie(response) is None
    assert _count(session, ShareClick) == 0


def test_a_repeat_click_within_a_minute_is_not_counted_but_refreshes_the_cookie(client, session, share_code):
    first = client.get(f"/s/{share_code}", headers=BROWSER)
    second = client.get(f"/s/{share_code}", headers=BROWSER)
    other_device = client.get(f"/s/{share_code}", headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/124.0"})

    assert [first.status_code, second.status_code, other_device.status_code] == [302, 302, 302]
    assert _set_cookie(second) is not None
    assert _count(session, ShareClick) == 2


def test_a_human_click_sets_a_signed_http_only_lax_cookie_for_the_window(client, share_code, sharer, article):
    response = client.get(f"/s/{share_code}", headers=BROWSER)

    morsel = _set_cookie(response)[clicks.ATTRIBUTION_COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == 7 * 24 * 3600
    assert not morsel["secure"]  # development over http; production below
    credited = clicks.read_attribution(morsel.value, secret=SECRET, now=datetime.now(timezone.utc), window_days=7)
    assert (credited.sharer_id, credited.target_kind, credited.target_id, credited.code) == (sharer.id, "article", article.id, share_code)


@pytest.mark.parametrize("app_overrides", [{"ENV": "production", "SITE_URL": "https://zhongcao.example", "ATTRIBUTION_WINDOW_DAYS": 3}])
def test_in_production_the_cookie_is_secure_and_the_window_is_configurable(client, share_code):
    # Production trusts only SITE_URL's host.
    response = client.get(f"/s/{share_code}", headers={**BROWSER, "Host": "zhongcao.example"})

    morsel = _set_cookie(response)[clicks.ATTRIBUTION_COOKIE]
    assert morsel["secure"]
    assert int(morsel["max-age"]) == 3 * 24 * 3600


def test_the_last_click_wins(client, session, share_code, make_user, make_product):
    product = make_product(slug="wool-socks")
    later_sharer = make_user()
    later_code = links.share_link_for(session, sharer_id=later_sharer.id, kind="product", target_id=product.id).link.code

    client.get(f"/s/{share_code}", headers=BROWSER)
    client.get(f"/s/{later_code}", headers=BROWSER)

    value = client.get_cookie(clicks.ATTRIBUTION_COOKIE).value
    credited = clicks.read_attribution(value, secret=SECRET, now=datetime.now(timezone.utc), window_days=7)
    assert (credited.sharer_id, credited.target_kind, credited.target_id) == (later_sharer.id, "product", product.id)


def test_the_sharers_own_click_is_not_counted_and_sets_no_cookie(client, session, sign_in_as, sharer, share_code):
    sign_in_as(client, sharer)

    response = client.get(f"/s/{share_code}", headers=BROWSER)

    assert response.status_code == 302 and response.headers["Location"] == "/@amber/down-jacket-review"
    assert _set_cookie(response) is None
    assert _count(session, ShareClick) == 0


def test_a_tampered_cookie_is_ignored(client, share_code):
    client.get(f"/s/{share_code}", headers=BROWSER)
    value = client.get_cookie(clicks.ATTRIBUTION_COOKIE).value

    tampered = value.replace(value.split(".")[0], value.split(".")[0][:-2] + "xx", 1)

    assert clicks.read_attribution(tampered, secret=SECRET, now=datetime.now(timezone.utc), window_days=7) is None


def test_the_article_page_carries_a_share_button_and_a_view_beacon_and_does_not_count_itself(client, session, sign_in_as, article, sharer):
    anonymous = client.get("/@amber/down-jacket-review", headers=BROWSER)
    sign_in_as(client, sharer)
    signed_in = client.get("/@amber/down-jacket-review", headers=BROWSER)

    beacon = f'hx-get="/articles/{article.id}/seen" hx-trigger="load delay:1s" hx-swap="none"'
    assert beacon in _html(anonymous) and beacon in _html(signed_in)
    assert f'href="/share/article/{article.id}"' in _html(anonymous)
    assert 'hx-target="#share-dialog"' not in _html(anonymous)  # cached anonymous pages: a plain link
    assert 'hx-target="#share-dialog"' in _html(signed_in) and '<span id="share-dialog" hidden>' in _html(signed_in)
    session.expire_all()
    assert session.get(Article, article.id).view_count == 0


def test_the_product_page_carries_a_share_button(client, make_product):
    product = make_product(slug="silk-pillowcase")

    html = _html(client.get("/products/silk-pillowcase"))

    assert f'href="/share/product/{product.id}"' in html


def test_the_view_beacon_counts_a_visitor_once_and_ignores_bots(client, session, article):
    responses = [
        client.get(f"/articles/{article.id}/seen", headers=BROWSER),
        client.get(f"/articles/{article.id}/seen", headers=BROWSER),
        client.get(f"/articles/{article.id}/seen", headers={"User-Agent": "Baiduspider"}),
        client.get("/articles/999999/seen", headers=BROWSER),
    ]

    assert [response.status_code for response in responses] == [204, 204, 204, 204]
    assert responses[0].headers["Cache-Control"] == "no-store"
    assert session.exec(select(ArticleDailyViews.views).where(ArticleDailyViews.article_id == article.id)).one() == 1
    session.expire_all()
    assert session.get(Article, article.id).view_count == 1


def test_the_authors_own_views_are_not_counted(client, session, sign_in_as, article):
    from zhongcao.accounts.models import User

    sign_in_as(client, session.get(User, article.author_id))

    client.get(f"/articles/{article.id}/seen", headers=BROWSER)

    assert _count(session, ArticleDailyViews) == 0


def test_the_home_page_shows_trending_articles(client, session, article, make_user):
    other = add_article(session, make_user(is_creator=True), title="安静的笔记")
    client.get(f"/articles/{article.id}/seen", headers=BROWSER)

    home = _html(client.get("/"))
    tab = _html(client.get("/?tab=trending", headers={"HX-Request": "true", "HX-Target": "home-feed"}))

    assert "正在流行 · Trending" in home and 'id="trending-list"' in home
    assert "羽绒服测评" in home.split('id="trending-list"', 1)[1].split("</ol>", 1)[0]
    assert tab.lstrip().startswith('<section id="home-feed"')
    assert "羽绒服测评" in tab and other.title not in tab


def test_the_search_pages_trending_partial_lists_trending_articles(app, client, article):
    from flask import render_template

    client.get(f"/articles/{article.id}/seen", headers=BROWSER)

    with app.test_request_context("/search"):
        html = render_template("search/partials/trending.html")

    assert html.lstrip().startswith('<section id="trending"')
    assert "羽绒服测评" in html and 'href="/@amber/down-jacket-review"' in html


def test_the_search_pages_trending_partial_is_empty_when_nothing_trends(app, article):
    from flask import render_template

    with app.test_request_context("/search"):
        assert render_template("search/partials/trending.html").strip() == ""
