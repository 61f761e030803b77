"""Admin pages: who may enter, the dashboard, creator applications, users and roles, hiding content."""
from __future__ import annotations

import pytest

from zhongcao.accounts import services as accounts
from zhongcao.accounts.models import User
from zhongcao.articles.models import Article
from zhongcao.catalog.models import PRODUCT_ACTIVE, PRODUCT_HIDDEN, Product

HTMX = {"HX-Request": "true"}
ADMIN_PAGES = ["/admin/", "/admin/applications", "/admin/users", "/admin/content"]


@pytest.fixture
def admin(make_user):
    return make_user(handle="boss", is_admin=True)


@pytest.fixture
def admin_client(client, admin, sign_in_as):
    sign_in_as(client, admin)
    return client


def _fresh(session, model, row_id):
    session.rollback()  # end the test session's read snapshot so it sees the app's writes
    session.expire_all()
    return session.get(model, row_id)


def _apply(session, user, pitch="我写了三年护肤测评，想在种草分享"):
    return accounts.apply_for_creator(session, user_id=user.id, pitch=pitch)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/admin")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_signed_in_non_admins_get_403(client, make_user, sign_in_as, path):
    sign_in_as(client, make_user(is_creator=True, is_merchant=True))

    response = client.get(path)

    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


def test_non_admins_cannot_post_admin_actions(client, session, make_user, sign_in_as):
    reader = make_user()
    application = _apply(session, reader)
    sign_in_as(client, reader)

    response = client.post(f"/admin/applications/{application.id}", data={"decision": "approve"})

    assert response.status_code == 403
    assert not _fresh(session, User, reader.id).is_creator


def test_the_dashboard_shows_the_counts(admin_client, session, make_user, make_product):
    _apply(session, make_user())
    make_product(status=PRODUCT_HIDDEN)

    page = admin_client.get("/admin/").get_data(as_text=True)

    assert "待审申请 Pending applications</a></dt><dd>1</dd>" in page
    assert "已隐藏商品 Hidden products</a></dt><dd>1</dd>" in page
    assert "用户 Users</dt><dd>3</dd>" in page  # admin, applicant, the product's merchant


def test_the_queue_lists_pending_applications_with_their_pitch(admin_client, session, make_user):
    _apply(session, make_user(handle="meimei"), pitch="小红书护肤博主，两万粉丝")

    page = admin_client.get("/admin/applications").get_data(as_text=True)

    assert "@meimei" in page and "小红书护肤博主，两万粉丝" in page
    assert 'id="application-queue"' in page and "<html" in page


def test_approving_with_the_plain_form_makes_a_creator_and_redirects(admin_client, session, make_user):
    reader = make_user()
    application = _apply(session, reader)

    response = admin_client.post(f"/admin/applications/{application.id}", data={"decision": "approve"})

    assert response.status_code == 303 and response.headers["Location"] == "/admin/applications"
    assert _fresh(session, User, reader.id).is_creator


def test_rejecting_with_htmx_returns_the_queue_fragment(admin_client, session, make_user):
    reader, other = make_user(), make_user(handle="stillwaiting")
    application = _apply(session, reader)
    _apply(session, other)

    response = admin_client.post(
        f"/admin/applications/{application.id}", data={"decision": "reject"}, headers={**HTMX, "HX-Target": "application-queue"}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith('<section id="application-queue">') and "<html" not in html
    assert "@stillwaiting" in html and f"@{reader.handle}" not in html
    assert response.headers["HX-Trigger"] == "application-decided"
    assert not _fresh(session, User, reader.id).is_creator


def test_deciding_an_application_twice_shows_a_clear_message(admin_client, session, make_user):
    application = _apply(session, make_user())
    admin_client.post(f"/admin/applications/{application.id}", data={"decision": "approve"})

    response = admin_client.post(
        f"/admin/applications/{application.id}", data={"decision": "reject"}, headers={**HTMX, "HX-Target": "application-queue"}
    )

    assert response.status_code == 422
    assert "该申请已处理" in response.get_data(as_text=True)


def test_an_unknown_decision_is_refused(admin_client, session, make_user):
    reader = make_user()
    application = _apply(session, reader)

    response = admin_client.post(
        f"/admin/applications/{application.id}", data={"decision": "maybe"}, headers={**HTMX, "HX-Target": "application-queue"}
    )

    assert response.status_code == 422
    assert not _fresh(session, User, reader.id).is_creator


def test_the_user_list_searches_handles_and_emails(admin_client, make_user):
    make_user(handle="meimei", email="mm@example.com")
    make_user(handle="laowang", email="wang@shop.example")

    by_handle = admin_client.get("/admin/users?q=MEI").get_data(as_text=True)
    by_email = admin_client.get("/admin/users?q=shop.example").get_data(as_text=True)

    assert "@meimei" in by_handle and "@laowang" not in by_handle
    assert "@laowang" in by_email and "@meimei" not in by_email


def test_the_user_list_is_a_fragment_for_htmx_and_a_page_otherwise(admin_client):
    fragment = admin_client.get("/admin/users?q=boss", headers={**HTMX, "HX-Target": "user-list"}).get_data(as_text=True)
    page = admin_client.get("/admin/users?q=boss", headers=HTMX).get_data(as_text=True)  # boosted link, no target

    assert fragment.startswith('<section id="user-list">') and "<html" not in fragment
    assert "<html" in page and 'id="user-list"' in page


def test_the_user_list_is_paginated(admin_client, make_user):
    for _ in range(55):
        make_user()

    first = admin_client.get("/admin/users").get_data(as_text=True)
    second = admin_client.get("/admin/users?page=2").get_data(as_text=True)

    assert first.count('class="roles-form"') == 50
    assert second.count('class="roles-form"') == 6
    assert "1 / 2" in first and 'href="/admin/users?page=2"' in first


def test_an_admin_changes_roles_with_the_plain_form(admin_client, session, make_user):
    user = make_user()

    response = admin_client.post(f"/admin/users/{user.id}/roles", data={"is_merchant": "y", "q": "user", "page": "1"})

    assert response.status_code == 303 and response.headers["Location"] == "/admin/users?q=user"
    changed = _fresh(session, User, user.id)
    assert (changed.is_creator, changed.is_merchant, changed.is_admin) == (False, True, False)


def test_an_admin_changes_roles_with_htmx_and_gets_the_list_back(admin_client, session, make_user):
    user = make_user(is_creator=True)

    response = admin_client.post(
        f"/admin/users/{user.id}/roles", data={"is_admin": "y"}, headers={**HTMX, "HX-Target": "user-list"}
    )

    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith('<section id="user-list">')
    changed = _fresh(session, User, user.id)
    assert (changed.is_creator, changed.is_admin) == (False, True)


def test_an_admin_cannot_remove_their_own_admin_role(admin_client, session, admin):
    response = admin_client.post(
        f"/admin/users/{admin.id}/roles", data={"is_creator": "y"}, headers={**HTMX, "HX-Target": "user-list"}
    )

    assert response.status_code == 422
    assert "不能取消自己的管理员身份" in response.get_data(as_text=True)
    assert _fresh(session, User, admin.id).is_admin


def test_hiding_a_product_by_id_and_unhiding_it_from_its_link(admin_client, session, make_product):
    product = make_product(slug="down-jacket")

    hidden = admin_client.post("/admin/products/hidden", data={"product-reference": str(product.id), "product-action": "hide"})
    assert _fresh(session, Product, product.id).status == PRODUCT_HIDDEN
    listed = admin_client.get("/admin/content").get_data(as_text=True)
    shown = admin_client.post(
        "/admin/products/hidden",
        data={"product-reference": "https://zhongcao.example/products/down-jacket", "product-action": "unhide"},
        headers={**HTMX, "HX-Target": "hidden-content"},
    )

    assert hidden.status_code == 303 and hidden.headers["Location"] == "/admin/content"
    assert f"#{product.id} {product.title}" in listed
    assert shown.status_code == 200 and shown.get_data(as_text=True).startswith('<section id="hidden-content"')
    assert _fresh(session, Product, product.id).status == PRODUCT_ACTIVE


def test_hiding_returns_to_a_local_next_page_only(admin_client, make_product):
    product = make_product()

    back = admin_client.post(
        "/admin/products/hidden",
        data={"product-reference": str(product.id), "product-action": "hide", "product-next": f"/products/{product.slug}"},
    )
    away = admin_client.post(
        "/admin/products/hidden",
        data={"product-reference": str(product.id), "product-action": "unhide", "product-next": "//evil.example"},
    )

    assert back.headers["Location"] == f"/products/{product.slug}"
    assert away.headers["Location"] == "/admin/content"


def test_hiding_an_unknown_product_is_a_clear_error(admin_client, make_product):
    make_product()

    page = admin_client.post("/admin/products/hidden", data={"product-reference": "no-such-product", "product-action": "hide"})
    fragment = admin_client.post(
        "/admin/products/hidden",
        data={"product-reference": "424242", "product-action": "hide"},
        headers={**HTMX, "HX-Target": "hidden-content"},
    )

    assert page.status_code == fragment.status_code == 422
    assert "找不到该商品" in page.get_data(as_text=True) and "<html" in page.get_data(as_text=True)
    assert "找不到该商品" in fragment.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)


def test_hiding_and_unhiding_an_article_from_its_link(admin_client, session, make_user):
    author = make_user(handle="MeiMei", is_creator=True)
    article = Article(author_id=author.id, slug="sunscreen-review", title="防晒霜测评", status="published")
    session.add(article)
    session.commit()

    hidden = admin_client.post(
        "/admin/articles/hidden", data={"article-reference": "/@meimei/sunscreen-review", "article-action": "hide"}
    )
    assert _fresh(session, Article, article.id).is_hidden
    shown = admin_client.post(
        "/admin/articles/hidden",
        data={"article-reference": str(article.id), "article-action": "unhide"},
        headers={**HTMX, "HX-Target": "hidden-content"},
    )

    assert hidden.status_code == 303
    assert shown.status_code == 200
    assert not _fresh(session, Article, article.id).is_hidden


def test_the_content_page_lists_hidden_articles_and_products(admin_client, session, make_user, make_product):
    author = make_user(is_creator=True)
    session.add(Article(author_id=author.id, slug="hidden-one", title="被隐藏的笔记", is_hidden=True))
    session.commit()
    make_product(title="被隐藏的商品", status=PRODUCT_HIDDEN)

    page = admin_client.get("/admin/content").get_data(as_text=True)

    assert "被隐藏的笔记" in page and "被隐藏的商品" in page


@pytest.mark.browser
def test_an_admin_works_through_the_pages_in_a_browser(live_server, page, session, make_user, make_product):
    from playwright.sync_api import expect

    from tests.conftest import TEST_PASSWORD

    admin = make_user(handle="boss", is_admin=True)
    reader = make_user(handle="meimei")
    _apply(session, reader)
    product = make_product(slug="down-jacket", title="轻薄羽绒服")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(live_server.url + "/admin/applications")
    page.fill("#email", admin.email)
    page.fill("#password", TEST_PASSWORD)
    page.click("form[action='/signin'] button[type=submit]")
    page.click("#application-queue button[value=approve]")
    page.wait_for_selector("text=没有待审核的申请")
    page.goto(live_server.url + "/admin/content")
    page.fill("#product-reference", "/products/down-jacket")
    page.click("form[action='/admin/products/hidden'] button[value=hide]")
    page.wait_for_selector(f"text=#{product.id} 轻薄羽绒服")
    page.goto(live_server.url + "/admin/users")
    page.fill("#user-query", "meimei")
    expect(page.locator("#user-list .roles-form")).to_have_count(1)
    page.check(f"#roles-{reader.id}-merchant")
    # Wait for the server's answer: the box is checked in the page before the form is even sent.
    with page.expect_response(lambda response: f"/admin/users/{reader.id}/roles" in response.url):
        page.click("#user-list .roles-form button[type=submit]")
    page.wait_for_selector(f"#roles-{reader.id}-merchant:checked")

    changed = _fresh(session, User, reader.id)
    assert changed.is_creator and changed.is_merchant
    assert _fresh(session, Product, product.id).status == PRODUCT_HIDDEN
    assert page.url.endswith("/admin/users?q=meimei")
    assert problems == []
