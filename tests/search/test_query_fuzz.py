"""Hostile and odd queries: every one gets a 200 (searched literally, or with a note) or a clear 400,
never a 500. One app, database and index serve the whole module, so the 200+ queries stay fast."""
from __future__ import annotations

import random
import shutil
from urllib.parse import quote

import pytest

from tests.conftest import PG_URL
from zhongcao import create_app
from zhongcao.catalog import services as catalog
from zhongcao.db import new_session

HAND_WRITTEN = [
    # Whoosh and Lucene query syntax, alone and half-finished.
    "title:x", "title:", ":", "body:羽绒服", "kind:product", "id:1", "url:/products", "*", "?", "*:*",
    "羽绒*", "*羽绒", "?绒服", "jack*", "j?cket", "jacket~", "jacket~2", "jacket^10", "jacket^", "^",
    "~", "\"", "\"\"", "\"羽绒服", "羽绒服\"", "\"unbalanced quote", "'", "''", "'single", "`backtick`",
    "AND", "OR", "NOT", "AND OR NOT", "NOT NOT NOT", "羽绒服 AND", "OR 羽绒服", "NOT 羽绒服", "a AND (b OR c",
    "(", ")", "()", "((((((", "))))))", "[", "]", "[a TO z]", "[1 TO]", "{", "}", "{a TO b}", "price:[0 TO 100]",
    "<", ">", "<=", "a <> b", "+羽绒服 -电水壶", "+", "-", "--", "!", "&&", "||", "\\", "\\\\", "/", "//", "/.*/",
    "a:b:c:d", "title:(羽绒 OR 电水壶)", "title:\"light down\"~3", "field:\"", "_id:1", "$", "#", "@", "@@", "%",
    # SQL, HTML and template injection, paths and URLs.
    "' OR '1'='1", "'; DROP TABLE product; --", "1; SELECT pg_sleep(5)", "\" OR 1=1 --", "%' OR ''='",
    "UNION SELECT * FROM user_account", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>", "javascript:alert(1)", "{{7*7}}", "{% raw %}", "${7*7}", "#{7*7}",
    "../../etc/passwd", "..\\..\\windows\\win.ini", "http://evil.example/", "//evil.example", "&amp;&lt;&gt;",
    "&#0;", "\\u0000", "%00", "%25", "+", "a+b", "a&b=c", "q=羽绒服", "?q=x&type=article",
    # Control characters, odd whitespace and Unicode.
    "\x00", "羽绒\x00服", "\x00" * 50, "\x01\x02\x03\x1b[31m", "\x7f", "\r\n", "\t\t", "\u0085", "\u00a0",
    "\u2028\u2029", "\u3000羽绒服\u3000", "\u200b", "\u200b羽\u200c绒\u200d服", "\ufeff", "\u202e服绒羽", "\u200f羽绒服\u200e",
    "\u2066\u2067\u2068\u2069", "\u061c", "مرحبا بالعالم", "שלום", "羽绒服 مرحبا", "😀", "🧥羽绒服🧥", "👩\u200d👩\u200d👧",
    "🇨🇳", "\U0001f3f3\ufe0f\u200d\U0001f308", "\ufffd", "\uffff", "\ufdd0", "\U0010ffff", "\ue000", "\ud800",
    "\udfff", "a\ud83dz", "ｔｉｔｌｅ：ｘ", "ＡＮＤ", "１００", "羽絨服", "電商 AND 电商", "ﬁ ﬂ", "İstanbul", "ß", "ǅ",
    "Z\u0351\u0352\u0353\u0354\u0355\u0356a\u0357\u0358l\u0359g\u035ao", "\u0301" * 40, "ℌ𝔢𝔩𝔩𝔬", "①②③", "Ⅻ",
    "𠀀𠀁𠀂", "〇", "々", "〜", "・", "「羽绒服」", "【羽绒服】", "《羽绒服》", "（羽绒服）", "羽绒服？！", "……", "——",
    # Sizes.
    "", " ", "   \t  ", "a", "羽", "x" * 99, "x" * 100, "x" * 101, "羽" * 10_000, "a " * 5_000,
    "羽绒服 " * 2_000, "(" * 10_000, "\"" * 10_000, "*" * 10_000, "AND " * 2_500, "title:" * 1_500,
    "😀" * 5_000, "\x00" * 10_000, "a" * 200 + "羽绒服", "jacket " + "~" * 300,
    # Numbers and things that look like filters.
    "0", "-1", "1e308", "NaN", "Infinity", "0x1F", "9" * 400, "¥299", "299元", "< 300", "price < 300",
]

# Already percent-encoded: bytes that are not valid UTF-8 or that a str cannot hold.
RAW_ENCODED = [
    "%ED%A0%80", "%ED%BF%BF", "%ED%A0%BD%ED%B8%80", "%00", "%00%00%00", "%FF", "%FF%FE", "%C0%AF", "%C3",
    "%E4%B8", "%F0%9F%98", "%F4%90%80%80", "%", "%%", "%zz", "%2", "%E7%BE%BD%E7%BB%92%00%E6%9C%8D",
    "%0D%0ASet-Cookie:%20x=1", "%EF%BB%BF", "%C2%A0%C2%A0", "%E2%80%AE%E6%9C%8D", "a%26type%3Darticle",
]

ODD_PARAMS = [
    {},
    {"type": "product"},
    {"type": "people"},
    {"type": "\x00"},
    {"type": "ALL", "sort": "PRICE_ASC"},
    {"sort": "price_desc", "min": "abc"},
    {"sort": "random()", "max": "-5"},
    {"sort": "popular", "page": "2"},
    {"min": "1e3", "max": "NaN"},
    {"min": "99999999999999999999", "max": "0"},
    {"min": "¥1,299.00", "max": "１００"},
    {"min": "0.001", "in_stock": "maybe"},
    {"page": "-1"},
    {"page": "0"},
    {"page": "99999999999999999999999999"},
    {"page": "2.5", "type": "article"},
    {"page": "\u0663"},
    {"category": "../../etc", "in_stock": "1"},
    {"category": "outerwear", "type": "creator", "sort": "price_asc"},
    {"category": "x" * 5_000, "min": "1" * 5_000},
]


def generated_queries(count: int, seed: int = 20240531) -> list[str]:
    """Random strings from a fixed seed: query syntax, CJK, emoji, controls and plain words mixed."""
    rng = random.Random(seed)
    alphabet = (
        list('"\'()[]{}*?~^:+-!&|\\/<>=%$#@,.;`')
        + ["AND ", "OR ", "NOT ", "TO ", "title:", "body:", "tags:"]
        + list("羽绒服电水壶轻薄加厚長款電商测评攻略笔记达人")
        + ["jacket", "down", "kettle", "light", " ", "  ", "\t", "\n"]
        + ["\x00", "\x07", "\x1b", "\u200b", "\u202e", "\ufeff", "\ufffd", "\ud800", "\udc00"]
        + ["😀", "🧥", "\u0301", "ß", "İ", "ﬁ", "ｘ", "\u3000", "مر", "ש"]
    )
    queries = []
    for _ in range(count):
        length = rng.choice([1, 2, 3, 5, 8, 13, 40, 120, 600])
        queries.append("".join(rng.choice(alphabet) for _ in range(length)))
    for _ in range(count // 4):
        length = rng.randint(1, 30)
        queries.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(length)))
    return queries


def encoded(text: str) -> str:
    # surrogatepass turns a lone surrogate into its (invalid) UTF-8 bytes, as a hostile client would send.
    return quote(text, safe="", errors="surrogatepass")


ENCODED_QUERIES = [encoded(text) for text in HAND_WRITTEN + generated_queries(140)] + RAW_ENCODED


def test_the_fuzz_set_is_large_enough():
    assert len(ENCODED_QUERIES) >= 200
    assert len(set(ENCODED_QUERIES)) >= 200


SETUPS = [("sqlite", "whoosh")] + ([("postgresql", "postgres")] if PG_URL else [])


@pytest.fixture(scope="module", params=SETUPS, ids=["-".join(setup) for setup in SETUPS])
def fuzz_client(request, tmp_path_factory, sqlite_template, password_hash):
    database, backend = request.param
    directory = tmp_path_factory.mktemp(f"fuzz-{database}")
    if database == "sqlite":
        path = directory / "zhongcao.sqlite3"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        postgres = request.getfixturevalue("postgres_database")
        postgres.empty_tables()
        url = postgres.url_string()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "DATA_DIR": str(directory / "data"),
            "SECRET_KEY": "test-secret-" + "x" * 32,
            "RATELIMIT_ENABLED": False,
            "FETCH_REMOTE_IMAGES": False,
            "SEARCH_BACKEND": backend,
        }
    )
    with new_session(app.extensions["zhongcao.engine"]) as session:
        _write_content(session, password_hash)
    yield app.test_client()
    app.extensions["zhongcao.engine"].dispose()


def _write_content(session, password_hash) -> None:
    from zhongcao.accounts.models import User
    from zhongcao.articles.services import publish_article, save_article

    merchant = User(email="m@example.com", handle="fuzz_merchant", handle_key="fuzz_merchant", display_name="商家",
                    password_hash=password_hash, is_merchant=True)
    writer = User(email="w@example.com", handle="fuzz_writer", handle_key="fuzz_writer", display_name="写手 Writer",
                  password_hash=password_hash, is_creator=True)
    session.add_all([merchant, writer])
    session.commit()
    shop = catalog.create_shop(session, owner_id=merchant.id, name="北极小店")
    outerwear = catalog.upsert_category(session, slug="outerwear", name_zh="外套", name_en="Outerwear")
    for slug, title, price_fen, stock in [
        ("light-down", "轻薄羽绒服 Light down jacket", 29900, 5),
        ("warm-down", "加厚羽绒服 Warm down jacket", 89900, 0),
        ("kettle", "电水壶 Electric kettle", 12900, 3),
    ]:
        catalog.create_product(session, actor_id=merchant.id, shop_id=shop.id, slug=slug, title=title, price_fen=price_fen,
                               stock=stock, commission_bp=1000, category_id=outerwear.id)
    for title, body in [("羽绒服怎么选", "轻薄还是加厚？**看你住在哪里**。"), ("電商測評：電水壺", "傳統字寫的測評 AND OR NOT (title:x)")]:
        article = save_article(session, author_id=writer.id, title=title, body_md=body, tags=["冬天"])
        publish_article(session, article_id=article.id, author_id=writer.id)


@pytest.mark.parametrize("index", range(len(ENCODED_QUERIES)))
def test_an_odd_query_never_breaks_search_or_suggestions(fuzz_client, index):
    query = ENCODED_QUERIES[index]
    extra = "".join(f"&{name}={encoded(value)}" for name, value in ODD_PARAMS[index % len(ODD_PARAMS)].items())

    page = fuzz_client.get(f"/search?q={query}{extra}")
    fragment = fuzz_client.get(f"/search?q={query}", headers={"HX-Request": "true", "HX-Target": "search-results"})
    suggestions = fuzz_client.get(f"/search/suggest?q={query}")

    assert page.status_code in (200, 400), query
    assert fragment.status_code in (200, 400), query
    assert suggestions.status_code in (200, 400), query
    if page.status_code == 200:
        assert 'id="search-results"' in page.get_data(as_text=True)
    if suggestions.status_code == 200:
        assert 'id="search-suggestions"' in suggestions.get_data(as_text=True)
