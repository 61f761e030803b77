"""Anonymous article pages come from the page cache, and every content change shows at once."""
from __future__ import annotations

from sqlalchemy import event

from zhongcao.db import atomic


def count_queries(engine, action) -> list[str]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN is not a query
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


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
