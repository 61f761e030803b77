"""The search page and the header suggestions, over products, articles and creators written through
the real domain services (so the index is kept current by the real lifecycle)."""
from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import PG_URL
from zhongcao.catalog import services as catalog
from zhongcao.search import SUGGESTION_LIMIT

FRAGMENT = {"HX-Request": "true", "HX-Target": "search-results"}
# Every route test runs on the Whoosh index, and on PostgreSQL also on the PostgreSQL full-text backend
# (which cannot run on SQLite, so that pair is never generated).
SETUPS = [("sqlite", "whoosh")] + ([("postgresql", "whoosh"), ("postgresql", "postgres")] if PG_URL else [])


@pytest.fixture(params=SETUPS, ids=[f"{backend}-on-{database}" for database, backend in SETUPS])
def search_setup(request):
    return request.param


@pytest.fixture
def database_url(request, search_setup, tmp_path, sqlite_template):
    """As conftest's, but driven by SETUPS (conftest's own parameters would add the impossible pair)."""
    if search_setup[0] == "sqlite":
        path = tmp_path / "zhongcao.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    database = request.getfixturevalue("postgres_database")
    database.empty_tables()
    return database.url_string()


@pytest.fixture
def app_overrides(search_setup):
    return {"SEARCH_BACKEND": search_setup[1]}


@pytest.fixture
def merchant(make_user):
    return make_user(is_merchant=True, handle="down_merchant")


@pytest.fixture
def shop(make_shop, merchant):
    return make_shop(owner=merchant, name="北极小店")


@pytest.fixture
def outerwear(session):
    return catalog.upsert_category(session, slug="outerwear", name_zh="外套", name_en="Outerwear")


@pytest.fixture
def add_product(session, merchant, shop):
    def add(slug: str, title: str, price_fen: int, *, stock: int = 10, **fields):
        return catalog.create_product(
            session, actor_id=merchant.id, shop_id=shop.id, slug=slug, title=title,
            price_fen=price_fen, stock=stock, commission_bp=1000, **fields,
        )

    return add


@pytest.fixture
def catalogue(add_product, outerwear):
    """Two down jackets at different prices (one sold out in another category), and a kettle."""
    return {
        "light": add_product("light-down-jacket", "轻薄羽绒服 Light down jacket", 29900, category_id=outerwear.id),
        "warm": add_product("warm-down-jacket", "加厚羽绒服 Warm down jacket", 89900, category_id=outerwear.id),
        "long": add_product("long-down-coat", "长款羽绒服 Long down coat", 59900, stock=0),
        "kettle": add_product("kettle", "电水壶 Electric kettle", 12900),
    }


def titles(html: str) -> list[str]:
    """The plain titles of the search result cards, in order (marks removed)."""
    cards = re.findall(r'<article class="card search-hit.*?</article>', html, flags=re.S)
    return [re.sub(r"<[^>]+>", "", re.search(r'class="card-title" href="[^"]*">(.*?)</a>', card).group(1)) for card in cards]


def results_region(html: str) -> str:
    start = html.index('<section id="search-results"')
    return html[start:]


def test_the_search_page_without_htmx_is_a_whole_page(client, catalogue):
    response = client.get("/search?q=羽绒服")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith("<!doctype html>")
    assert 'id="search-results"' in html
    assert {"轻薄羽绒服 Light down jacket", "加厚羽绒服 Warm down jacket"} <= set(titles(html))
    assert "电水壶 Electric kettle" not in titles(html)


def test_the_results_fragment_is_sent_to_htmx_requests_targeting_it(client, catalogue):
    response = client.get("/search?q=羽绒服&type=product", headers=FRAGMENT)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="search-results"')
    assert "<html" not in html
    assert "轻薄羽绒服 Light down jacket" in titles(html)


def test_the_fragment_pushes_the_tidy_url_of_what_was_searched(client, catalogue):
    response = client.get("/search?q=羽绒服&type=all&category=&min=&max=300&sort=relevance&page=", headers=FRAGMENT)

    assert response.headers["HX-Push-Url"] == "/search?q=%E7%BE%BD%E7%BB%92%E6%9C%8D&type=product&max=300"


@pytest.mark.parametrize(
    "headers",
    [
        {"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "main"},
        {"HX-Request": "true", "HX-History-Restore-Request": "true", "HX-Target": "search-results"},
    ],
)
def test_boosted_and_history_restore_requests_get_the_whole_page(client, catalogue, headers):
    html = client.get("/search?q=羽绒服", headers=headers).get_data(as_text=True)

    assert html.lstrip().startswith("<!doctype html>")


def test_matched_words_are_marked_in_titles(client, catalogue):
    html = client.get("/search?q=羽绒服").get_data(as_text=True)

    assert "<mark>" in results_region(html)


def test_tabs_show_counts_and_narrow_the_results_to_one_kind(client, catalogue, make_article):
    make_article(title="羽绒服怎么选 How to choose a down jacket", body_md="轻薄还是加厚？看你住在哪里。")

    everything = client.get("/search?q=羽绒服").get_data(as_text=True)
    articles = client.get("/search?q=羽绒服&type=article").get_data(as_text=True)

    assert re.search(r'type=product"[^>]*>商品 Products <span class="tab-count">3</span>', everything)
    assert re.search(r'type=article"[^>]*>笔记 Articles <span class="tab-count">1</span>', everything)
    assert titles(articles) == ["羽绒服怎么选 How to choose a down jacket"]
    assert 'aria-current="page">笔记 Articles' in articles


def test_a_price_range_in_yuan_keeps_only_products_inside_it(client, catalogue):
    cheap = client.get("/search?q=羽绒服&max=300").get_data(as_text=True)
    dear = client.get("/search?q=羽绒服&min=600.50").get_data(as_text=True)
    middle = client.get("/search?q=羽绒服&min=299&max=599").get_data(as_text=True)

    assert titles(cheap) == ["轻薄羽绒服 Light down jacket"]
    assert titles(dear) == ["加厚羽绒服 Warm down jacket"]
    assert sorted(titles(middle)) == ["轻薄羽绒服 Light down jacket", "长款羽绒服 Long down coat"]


def test_the_category_filter_keeps_only_that_category(client, catalogue):
    html = client.get("/search?q=羽绒服&category=outerwear").get_data(as_text=True)

    assert sorted(titles(html)) == ["加厚羽绒服 Warm down jacket", "轻薄羽绒服 Light down jacket"]
    assert '<option value="outerwear" selected>' in html


def test_in_stock_only_leaves_out_sold_out_products(client, catalogue):
    everything = client.get("/search?q=羽绒服&type=product").get_data(as_text=True)
    in_stock = client.get("/search?q=羽绒服&type=product&in_stock=1").get_data(as_text=True)

    assert "长款羽绒服 Long down coat" in titles(everything)
    assert "已售罄 Sold out" in everything
    assert "长款羽绒服 Long down coat" not in titles(in_stock)
    assert len(titles(in_stock)) == 2


def test_price_sorts_order_products_by_price(client, catalogue):
    ascending = client.get("/search?q=羽绒服&sort=price_asc").get_data(as_text=True)
    descending = client.get("/search?q=羽绒服&sort=price_desc").get_data(as_text=True)

    assert titles(ascending) == ["轻薄羽绒服 Light down jacket", "长款羽绒服 Long down coat", "加厚羽绒服 Warm down jacket"]
    assert titles(descending) == list(reversed(titles(ascending)))
    assert re.findall(r'class="price">([^<]+)<', results_region(ascending)) == ["¥299.00", "¥599.00", "¥899.00"]


def test_newest_sort_puts_the_latest_article_first(client, make_article, make_user):
    from datetime import datetime, timezone

    author = make_user(is_creator=True)
    make_article(author=author, title="冲锋衣测评 2023", now=datetime(2023, 3, 1, tzinfo=timezone.utc))
    make_article(author=author, title="冲锋衣测评 2025", now=datetime(2025, 3, 1, tzinfo=timezone.utc))
    make_article(author=author, title="冲锋衣测评 2024", now=datetime(2024, 3, 1, tzinfo=timezone.utc))

    html = client.get("/search?q=冲锋衣&type=article&sort=newest").get_data(as_text=True)

    assert titles(html) == ["冲锋衣测评 2025", "冲锋衣测评 2024", "冲锋衣测评 2023"]


def test_creators_are_found_by_name_and_handle(client, make_user):
    make_user(is_creator=True, handle="snowfox", display_name="雪狐 Snow Fox")

    by_handle = client.get("/search?q=snowfox&type=creator").get_data(as_text=True)

    assert 'href="/@snowfox"' in results_region(by_handle)


def test_hidden_products_leave_the_results(client, session, merchant, catalogue):
    catalog.set_product_hidden(session, product_id=catalogue["warm"].id, actor_id=merchant.id, hidden=True)

    html = client.get("/search?q=羽绒服").get_data(as_text=True)

    assert "加厚羽绒服 Warm down jacket" not in titles(html)
    assert "轻薄羽绒服 Light down jacket" in titles(html)


def test_results_are_paged_and_a_page_past_the_end_shows_the_last_page(client, add_product):
    for number in range(23):
        add_product(f"sock-{number:02d}", f"羊毛袜 Wool socks {number:02d}", 1000 + number)

    first = client.get("/search?q=羊毛袜&sort=price_asc").get_data(as_text=True)
    second = client.get("/search?q=羊毛袜&sort=price_asc&page=2").get_data(as_text=True)
    beyond = client.get("/search?q=羊毛袜&sort=price_asc&page=40")

    assert len(titles(first)) == 20
    assert "1 / 2" in first and 'rel="next"' in first
    assert titles(second) == [f"羊毛袜 Wool socks {number:02d}" for number in (20, 21, 22)]
    assert beyond.status_code == 200
    assert titles(beyond.get_data(as_text=True)) == titles(second)


def test_nothing_found_offers_a_correction_and_popular_items(client, catalogue):
    html = client.get("/search?q=kettel").get_data(as_text=True)

    region = results_region(html)
    assert "没有找到相关结果" in region
    assert re.search(r'Did you mean:\s*<a href="/search\?q=kettle"', region)
    assert "热门好物 · Popular products" in region
    assert titles(region)


def test_an_empty_query_shows_popular_articles_and_products(client, catalogue, make_article):
    make_article(title="冬天穿什么 What to wear in winter")

    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        html = client.get(url).get_data(as_text=True)

        assert "热门笔记 · Popular articles" in html
        assert "热门好物 · Popular products" in html
        assert "冬天穿什么 What to wear in winter" in titles(html)
        assert len(titles(html)) == 5  # the article and four of the products
        assert 'class="tabs search-tabs"' not in html

def test_bad_filter_values_are_ignored_with_a_visible_note(client, catalogue):
    response = client.get("/search?q=羽绒服&min=abc&sort=cheapest&page=two&type=people")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "最低价 Min price：价格请写成数字" in html
    assert "未知的排序方式" in html
    assert "页码应为整数" in html
    assert "未知的搜索类型" in html
    assert len(titles(html)) == 3


def test_a_very_long_query_is_cut_and_says_so(client, catalogue):
    response = client.get("/search", query_string={"q": "羽绒服" + "x" * 10_000})

    assert response.status_code == 200
    assert "只用了前 100 个字" in response.get_data(as_text=True)


def test_the_query_is_shown_as_text_never_as_markup(client):
    html = client.get("/search", query_string={"q": '<script>alert(1)</script>"><img src=x>'}).get_data(as_text=True)

    assert "<script>alert(1)" not in html
    assert "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_filter_links_keep_the_query_and_leave_out_defaults(client, catalogue):
    html = client.get("/search?q=羽绒服&type=product&max=300&sort=price_asc").get_data(as_text=True)

    assert 'href="/search?q=%E7%BE%BD%E7%BB%92%E6%9C%8D&amp;type=article"' in html
    assert 'name="max" inputmode="decimal"' in html and 'value="300"' in html
    assert 'hx-target="#search-results"' in html and 'hx-push-url="true"' in html


def test_suggestions_complete_what_the_reader_typed(client, catalogue):
    response = client.get("/search/suggest?q=羽绒", headers={"HX-Request": "true", "HX-Target": "search-suggestions"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="search-suggestions"')
    links = re.findall(r'<a class="suggestion" href="(/search\?q=[^"]+)">([^<]+)</a>', html)
    assert 1 <= len(links) <= SUGGESTION_LIMIT
    assert all("羽绒" in text for _, text in links)


def test_suggestions_are_at_most_eight(client, add_product):
    for number in range(12):
        add_product(f"tee-{number:02d}", f"纯棉T恤 Cotton tee {number:02d}", 5000)

    html = client.get("/search/suggest?q=cotton").get_data(as_text=True)

    assert 1 <= html.count('class="suggestion"') <= SUGGESTION_LIMIT


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x01", "%E2%80%8F"])
def test_empty_input_gets_an_empty_suggestion_list(client, catalogue, typed):
    html = client.get(f"/search/suggest?q={typed}").get_data(as_text=True)

    assert html.strip() == '<div id="search-suggestions" class="search-suggestions"></div>'


def test_every_page_has_the_header_search_box_with_suggestions(client):
    html = client.get("/").get_data(as_text=True)

    assert 'action="/search" method="get"' in html
    assert 'hx-get="/search/suggest"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert 'hx-target="#search-suggestions"' in html
    assert '<div id="search-suggestions"' in html


def test_the_header_box_keeps_the_query_on_the_results_page(client, catalogue):
    html = client.get("/search?q=羽绒服").get_data(as_text=True)

    assert re.search(r'<input type="search" name="q" placeholder="[^"]*" aria-label="搜索 Search" maxlength="200"\s+value="羽绒服"', html)

