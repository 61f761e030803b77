"""Anonymous article pages come from the page cache, and every content change shows at once."""
from __future__ import annotations

from zhongcao.db import atomic
from zhongcao.plainsql import recording_statements
from zhongcao.web import page_cache


def count_queries(engine, action) -> list[str]:
    """Every query `action` sends: through SQLAlchemy, and PlainQuery's reads on bare DB-API connections."""
    with recording_statements(engine) as statements:
        action()
    return [statement for statement in statements if not statement.startswith("BEGIN")]  # SQLite's BEGIN is no query


def test_a_repeated_anonymous_view_costs_one_query(client, engine, make_user, make_product, make_article):
    make_product(slug="cached-jacket", title="缓存羽绒服", price_fen=59900)
    author = make_user(handle="cachewriter", is_creator=True)
    article = make_article(author=author, body_md="::: product cached-jacket\n:::\n")
    url = f"/@cachewriter/{article.slug}"
    first = client.get(url)

    queries = count_queries(engine, lambda: client.get(url))

    assert first.status_code == 200
    assert len(queries) == 1, queries  # the content version; the page itself comes from the cache


def test_a_price_change_shows_on_the_next_anonymous_view(client, session, make_user, make_product, make_article):
    product = make_product(slug="cached-flask", title="缓存保温杯", price_fen=12900)
    author = make_user(handle="cachewriter2", is_creator=True)
    article = make_article(author=author, body_md="::: product cached-flask\n:::\n")
    url = f"/@cachewriter2/{article.slug}"
    assert "¥129.00" in client.get(url).get_data(as_text=True)

    with atomic(session):
        product.price_fen = 9900
        session.add(product)

    page = client.get(url).get_data(as_text=True)
    assert "¥99.00" in page and "¥129.00" not in page


def test_signed_in_readers_get_their_own_page(client, make_user, make_article, sign_in_as):
    author = make_user(handle="cachewriter3", is_creator=True)
    reader = make_user(handle="cachereader")
    article = make_article(author=author)
    url = f"/@cachewriter3/{article.slug}"
    client.get(url)

    sign_in_as(client, reader)
    page = client.get(url).get_data(as_text=True)

    assert "@cachereader" in page
    assert "X-CSRFToken" in page


def test_anonymous_pages_carry_no_csrf_token(client, make_user, make_article):
    author = make_user(handle="cachewriter4", is_creator=True)
    article = make_article(author=author)

    response = client.get(f"/@cachewriter4/{article.slug}")

    assert "csrf" not in response.get_data(as_text=True).lower()
    assert "Set-Cookie" not in response.headers


# Signed-in readers: one cached shell of the page, with only the personal parts rendered per reader.

import re

from flask import render_template_string
from flask_login import login_user

from zhongcao.social import reactions as social_reactions
from zhongcao.social import services as social_services
from zhongcao.web.auth import SignedInUser
from zhongcao.web.page_cache import cached_page

_TOKENS = re.compile(r'(csrf_token" value="|"X-CSRFToken": ")[^"]+"')


def _without_tokens(html: str) -> str:
    # Flask-WTF signs each request's token with the time, so two renderings differ only there.
    return _TOKENS.sub(r'\1…"', html)


def _article_with_readers(session, make_user, make_product, make_article, handle):
    make_product(slug=f"{handle}-kettle", title="缓存电水壶", price_fen=19900)
    author = make_user(handle=handle, is_creator=True)
    article = make_article(author=author, body_md=f"::: product {handle}-kettle\n:::\n")
    return author, article, f"/@{handle}/{article.slug}"


def test_two_readers_share_one_shell_and_each_sees_their_own_state(
    client, app, session, make_user, make_product, make_article, sign_in_as
):
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "shellwriter")
    fan = make_user(handle="shellfan")
    stranger = make_user(handle="shellstranger")
    social_reactions.like_article(session, user_id=fan.id, article_id=article.id)
    social_services.follow(session, follower_id=fan.id, creator_id=author.id)

    sign_in_as(client, fan)
    fan_page = client.get(url).get_data(as_text=True)
    sign_in_as(client, stranger)
    stranger_page = client.get(url).get_data(as_text=True)

    assert len(app.extensions["zhongcao.page_shells"]._entries) == 1  # one rendering served both
    assert "@shellfan" in fan_page and "@shellstranger" not in fan_page
    assert "已赞 Liked" in fan_page and "已关注 Following" in fan_page
    assert "@shellstranger" in stranger_page and "@shellfan" not in stranger_page
    assert "♡ 点赞 Like" in stranger_page and "+ 关注 Follow" in stranger_page
    assert "已赞 Liked" not in stranger_page and "已关注 Following" not in stranger_page
    assert "¥199.00" in fan_page and "¥199.00" in stranger_page


def test_the_shell_gives_the_same_page_as_a_whole_rendering(
    client, session, make_user, make_product, make_article, sign_in_as
):
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "shellwriter2")
    reader = make_user(handle="shellreader2")
    social_reactions.collect_article(session, user_id=reader.id, article_id=article.id)
    sign_in_as(client, reader)
    client.get(url)  # builds the shell

    from_shell = client.get(url).get_data(as_text=True)
    # An htmx request is never served from a cache, so it shows the page rendered whole.
    whole = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)

    assert "已收藏 Collected" in from_shell
    assert _without_tokens(from_shell) == _without_tokens(whole)


def test_a_like_shows_on_the_next_signed_in_view(client, session, make_user, make_product, make_article, sign_in_as):
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "shellwriter3")
    reader = make_user(handle="shellreader3")
    sign_in_as(client, reader)
    assert "♡ 点赞 Like" in client.get(url).get_data(as_text=True)

    social_reactions.like_article(session, user_id=reader.id, article_id=article.id)

    assert "♥ 已赞 Liked" in client.get(url).get_data(as_text=True)


def test_the_author_gets_their_own_page_not_the_readers_shell(
    client, session, make_user, make_product, make_article, sign_in_as
):
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "shellwriter4")
    reader = make_user(handle="shellreader4")
    sign_in_as(client, reader)
    assert "编辑 Edit" not in client.get(url).get_data(as_text=True)

    sign_in_as(client, author)
    page = client.get(url).get_data(as_text=True)

    assert "编辑 Edit" in page and "编辑资料 Edit profile" in page


def test_a_repeated_signed_in_view_costs_four_queries(
    client, engine, session, make_user, make_product, make_article, sign_in_as
):
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "shellwriter5")
    sign_in_as(client, make_user(handle="shellreader5"))
    client.get(url)

    queries = count_queries(engine, lambda: client.get(url))

    # The reader's account, the content version, the like/collect state, the follow state.
    assert len(queries) == 4, queries


def test_a_csrf_token_outside_the_personal_parts_is_never_shared(app, make_user):
    reader = make_user(handle="shellleak")
    leaky = "<p>{{ personal('partials/csrf_header.html') }}</p><form><input value='{{ csrf_token() }}'></form>"

    with app.test_request_context("/leaky"):
        login_user(SignedInUser(reader))
        response = cached_page(lambda: render_template_string(leaky), personal_parts=True)

    assert "zhongcao.page_shells" not in app.extensions or not app.extensions["zhongcao.page_shells"]._entries
    assert "X-CSRFToken" in response.get_data(as_text=True)  # the reader still gets a whole, working page


# Shared personal parts: readers in the same state share one rendering of a part.

def _renderings(app, template_name: str) -> list[str]:
    cache = app.extensions["zhongcao.part_renderings"]
    return [html for (key, _scope), html in cache._entries.items() if key[0] == template_name]


def test_readers_in_the_same_state_share_a_part_and_others_do_not(
    client, app, session, make_user, make_product, make_article, sign_in_as
):
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "partwriter")
    fan = make_user(handle="partfan")
    social_reactions.like_article(session, user_id=fan.id, article_id=article.id)

    readers = [make_user(handle="partreader1"), make_user(handle="partreader2")]

    for reader in readers:  # neither has liked: one rendering of the bar for both
        sign_in_as(client, reader)
        client.get(url)
    assert len(_renderings(app, "social/partials/reaction_bar.html")) == 1
    assert len(_renderings(app, "partials/account_nav.html")) == 2  # the menu shows each reader's handle

    sign_in_as(client, fan)
    fan_page = client.get(url).get_data(as_text=True)

    assert len(_renderings(app, "social/partials/reaction_bar.html")) == 2
    assert "♥ 已赞 Liked" in fan_page and "@partfan" in fan_page and "@partreader" not in fan_page


def test_each_reader_gets_their_own_working_csrf_token_in_shared_parts(
    client, app, session, make_user, make_product, make_article, sign_in_as
):
    app.config["WTF_CSRF_ENABLED"] = True
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "partwriter2")
    first, second = make_user(handle="tokenreader1"), make_user(handle="tokenreader2")
    sign_in_as(client, first)
    client.get(url)
    first_page = client.get(url).get_data(as_text=True)
    other_browser = app.test_client()
    sign_in_as(other_browser, second)
    second_page = other_browser.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', second_page).group(1)

    liked = other_browser.post(f"/articles/{article.id}/like", data={"csrf_token": token, "next": url})

    assert token not in first_page
    assert page_cache._TOKEN_PLACEHOLDER not in first_page + second_page
    assert liked.status_code == 303
    assert social_reactions.reactions_for(session, article_id=article.id, viewer_id=second.id).liked


def test_a_part_reading_an_undeclared_column_is_rendered_per_reader_not_shared(
    client, app, monkeypatch, caplog, session, make_user, make_product, make_article, sign_in_as
):
    # As if the account menu's registration forgot that it shows the reader's handle.
    monkeypatch.setitem(page_cache._RULES, "partials/account_nav.html", page_cache.PartRule(per_page=False))
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "partwriter3")
    first, second = make_user(handle="undeclared1"), make_user(handle="undeclared2")
    sign_in_as(client, first)
    client.get(url)
    sign_in_as(client, second)

    page = client.get(url).get_data(as_text=True)

    assert "@undeclared2" in page and "@undeclared1" not in page
    assert not _renderings(app, "partials/account_nav.html")
    assert "partials/account_nav.html reads current_user.is_creator" in caplog.text


def test_pages_rendered_whole_share_the_account_menu_too(client, app, make_user, sign_in_as):
    # The cart is no cached page: it is rendered for each reader, apart from the shared account menu.
    first, second = make_user(handle="cartmenu1"), make_user(handle="cartmenu2")
    sign_in_as(client, first)
    client.get("/cart")
    first_page = client.get("/cart").get_data(as_text=True)
    sign_in_as(client, second)
    second_page = client.get("/cart").get_data(as_text=True)

    assert len(_renderings(app, "partials/account_nav.html")) == 2  # one per reader state, reused on the second view
    assert "@cartmenu1" in first_page and "@cartmenu2" not in first_page
    assert "@cartmenu2" in second_page and "@cartmenu1" not in second_page
    assert page_cache._TOKEN_PLACEHOLDER not in first_page + second_page


def test_a_whole_page_part_reading_an_undeclared_column_falls_back_to_its_own_rendering(
    client, app, monkeypatch, caplog, make_user, sign_in_as
):
    monkeypatch.setitem(page_cache._RULES, "partials/account_nav.html", page_cache.PartRule(per_page=False))
    sign_in_as(client, make_user(handle="cartundeclared"))

    page = client.get("/cart").get_data(as_text=True)

    assert "@cartundeclared" in page
    assert not _renderings(app, "partials/account_nav.html")
    assert "partials/account_nav.html reads current_user.is_creator" in caplog.text


def _like_count(page: str) -> str:
    return re.search(r'id="like-button".*?reaction-count">(\d+)<', page, re.S).group(1)


def test_likes_and_unlikes_show_on_the_cached_anonymous_page(client, session, make_user, make_product, make_article):
    # Likes are written with INSERT … ON CONFLICT and unlikes with DELETE statements, not through the
    # session's flush; each must still move the content version.
    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "likecount")
    fan = make_user(handle="likecountfan")
    assert _like_count(client.get(url).get_data(as_text=True)) == "0"

    social_reactions.like_article(session, user_id=fan.id, article_id=article.id)
    liked = client.get(url).get_data(as_text=True)
    social_reactions.unlike_article(session, user_id=fan.id, article_id=article.id)
    unliked = client.get(url).get_data(as_text=True)

    assert _like_count(liked) == "1"
    assert _like_count(unliked) == "0"


def test_a_sell_out_and_a_restock_show_on_the_cached_anonymous_page(
    client, session, make_user, make_product, make_article, make_cart, make_address
):
    from zhongcao.commerce import checkout

    product = make_product(slug="lastkettle", title="最后一个电水壶", price_fen=19900, stock=2)
    author = make_user(handle="selloutwriter", is_creator=True)
    article = make_article(author=author, body_md="::: product lastkettle\n:::\n")
    url = f"/@selloutwriter/{article.slug}"
    buyer = make_user(handle="selloutbuyer")
    address = make_address(buyer)
    assert "已售罄" not in client.get(url).get_data(as_text=True)

    def buy(key: str):
        cart = make_cart(buyer=buyer, lines=[(product, 1)])
        return checkout.place_order(session, buyer_id=buyer.id, cart_id=cart.id, address_id=address.id, idempotency_key=key)

    buy("first")  # leaves one: the card does not change
    assert "已售罄" not in client.get(url).get_data(as_text=True)
    last = buy("last")
    sold_out = client.get(url).get_data(as_text=True)
    checkout.cancel_checkout(session, checkout_id=last.id, buyer_id=buyer.id)
    restocked = client.get(url).get_data(as_text=True)

    assert "已售罄" in sold_out and "add-to-cart-link" not in sold_out
    assert "已售罄" not in restocked and "add-to-cart-link" in restocked


def test_a_counted_view_keeps_the_cached_pages(session, engine, make_user, make_product, make_article):
    # Views are counted on every new reader's first look: bumping the version for them would empty
    # every cache all day. Only the home page shows view counts, and it is cached for a minute at most.
    from zhongcao.attribution import article_views
    from zhongcao.pagecache.services import latest_version

    author, article, url = _article_with_readers(session, make_user, make_product, make_article, "viewcounter")
    before = latest_version(engine)

    counted = article_views.record_article_view(
        session, article_id=article.id, visitor_hash="a-new-reader", user_agent="Mozilla/5.0"
    )

    assert counted
    assert latest_version(engine) == before


def test_anonymous_visitors_share_the_home_page_and_see_new_articles_at_once(
    client, engine, monkeypatch, session, make_user
):
    from tests.social.factories import add_article

    creator = make_user(handle="homecache", is_creator=True)
    add_article(session, creator, minutes=1, title="第一篇")
    monkeypatch.setattr(page_cache, "_clock", lambda: 1000.0)
    first = client.get("/").get_data(as_text=True)

    repeat_queries = count_queries(engine, lambda: client.get("/"))
    add_article(session, creator, minutes=2, title="刚发布的第二篇")
    after_publishing = client.get("/").get_data(as_text=True)

    assert "第一篇" in first
    assert len(repeat_queries) == 1, repeat_queries  # the content version; the page comes from the cache
    assert "刚发布的第二篇" in after_publishing


def test_the_cached_home_page_refreshes_its_view_counts_within_a_minute(client, monkeypatch, session, make_user):
    from tests.social.factories import add_article
    from zhongcao.articles import services as articles

    creator = make_user(handle="homeviews", is_creator=True)
    article = add_article(session, creator, minutes=1, title="被阅读的笔记", view_count=7)
    now = [1000.0]
    monkeypatch.setattr(page_cache, "_clock", lambda: now[0])
    client.get("/")
    articles.record_view(session, article_id=article.id)  # counted views move no content version

    within_the_minute = client.get("/").get_data(as_text=True)
    now[0] += 60
    a_minute_later = client.get("/").get_data(as_text=True)

    assert "7 阅读 views" in within_the_minute
    assert "8 阅读 views" in a_minute_later


def test_an_anonymous_page_holding_a_csrf_token_is_never_shared(app, caplog):
    leaky = "<form><input value='{{ csrf_token() }}'></form>"

    with app.test_request_context("/leaky-anonymous"):
        first = cached_page(lambda: render_template_string(leaky)).get_data(as_text=True)
    with app.test_request_context("/leaky-anonymous"):
        second = cached_page(lambda: render_template_string(leaky)).get_data(as_text=True)

    assert first != second  # each visitor's own token, never one shared page
    assert "holds a CSRF token; not caching it" in caplog.text
