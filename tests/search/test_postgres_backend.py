"""The PostgreSQL full-text backend, on a real PostgreSQL database (skipped on SQLite runs)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from zhongcao.search import Document, SearchQuery
from zhongcao.search.postgres_backend import PostgresBackend

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def backend(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the postgres search backend runs on PostgreSQL only")
    return PostgresBackend(engine)


def product(id, title, *, tags="", body="", price_fen=1000, category="clothing", in_stock=True, popularity=0, days=0):
    return Document(
        kind="product", id=id, title=title, tags=tags, body=body, url=f"/products/p{id}", version=f"v{id}",
        published_at=T0 + timedelta(days=days), popularity=popularity, category=category,
        price_fen=price_fen, in_stock=in_stock, subtitle="小店 Shop",
    )


def article(id, title, *, tags="", body="", popularity=0, days=0):
    return Document(
        kind="article", id=id, title=title, tags=tags, body=body, url=f"/@writer/a{id}", version=f"v{id}",
        published_at=T0 + timedelta(days=days), popularity=popularity, subtitle="@writer",
    )


def creator(id, title, *, body="", popularity=0):
    return Document(kind="creator", id=id, title=title, tags="", body=body, url=f"/@c{id}", version=f"v{id}",
                    popularity=popularity)


def keys(results):
    return [(hit.document.kind, hit.document.id) for hit in results.hits]


@pytest.fixture
def catalogue(backend):
    backend.rebuild([
        product(1, "波司登 轻薄羽绒服", tags="波司登 服装", body="白鸭绒填充，冬天通勤保暖。", price_fen=59900, popularity=50, days=1),
        product(2, "优衣库 Ultra Light Down Jacket", tags="uniqlo 服装", body="Packable down jacket for travel.",
                price_fen=49900, popularity=80, days=2),
        product(3, "索尼 WH-1000XM5 降噪耳机", tags="sony 数码", body="Noise cancelling headphones.",
                price_fen=249900, category="digital", in_stock=False, popularity=90, days=3),
        product(4, "冲锋衣 防水透气", tags="户外", body="徒步登山必备。", price_fen=89900, category="outdoor", popularity=10, days=4),
        article(10, "冬天穿什麼：羽絨服選購指南", body="羽絨服的充絨量和蓬鬆度決定了保暖。", popularity=30, days=5),
        article(11, "Moisturizer review for dry skin", body="A rich moisturizer with ceramides.", popularity=5, days=6),
        creator(20, "小林 @xiaolin", body="户外博主，爱徒步。", popularity=300),
    ])
    return backend


def test_an_upserted_document_is_found_and_a_deleted_one_is_not(backend):
    backend.upsert([product(1, "波司登 轻薄羽绒服", body="保暖")])

    found = backend.search(SearchQuery(text="羽绒服"))
    backend.delete([("product", 1), ("article", 999)])
    gone = backend.search(SearchQuery(text="羽绒服"))

    assert keys(found) == [("product", 1)]
    assert found.total == 1
    assert gone.total == 0 and gone.hits == []


def test_upserting_again_replaces_the_indexed_text_and_version(backend):
    backend.upsert([product(1, "波司登 羽绒服")])

    backend.upsert([Document(**{**product(1, "安踏 跑鞋").__dict__, "version": "v2"})])

    assert backend.search(SearchQuery(text="羽绒服")).total == 0
    assert keys(backend.search(SearchQuery(text="跑鞋"))) == [("product", 1)]
    assert backend.indexed_versions() == {("product", 1): "v2"}


def test_traditional_and_simplified_characters_find_each_other(catalogue):
    simplified = catalogue.search(SearchQuery(text="羽绒服", kind="article"))
    traditional = catalogue.search(SearchQuery(text="羽絨服"))

    assert keys(simplified) == [("article", 10)]
    assert ("product", 1) in keys(traditional) and ("article", 10) in keys(traditional)


def test_english_words_are_stemmed_and_case_folded(catalogue):
    results = catalogue.search(SearchQuery(text="MOISTURIZERS"))

    assert keys(results) == [("article", 11)]


def test_a_title_match_ranks_above_a_body_match(backend):
    backend.rebuild([
        article(1, "通勤穿搭", body="羽绒服 " * 20, popularity=1000),
        product(2, "羽绒服 黑色", popularity=0),
    ])

    results = backend.search(SearchQuery(text="羽绒服"))

    assert keys(results) == [("product", 2), ("article", 1)]


def test_popularity_breaks_ties_between_equal_matches(backend):
    backend.rebuild([product(1, "羽绒服", popularity=1), product(2, "羽绒服", popularity=9)])

    assert keys(backend.search(SearchQuery(text="羽绒服"))) == [("product", 2), ("product", 1)]


def test_kind_tab_counts_cover_every_kind_while_hits_follow_the_tab(catalogue):
    results = catalogue.search(SearchQuery(text="羽绒服", kind="article"))

    assert results.counts == {"product": 1, "article": 1, "creator": 0}
    assert results.total == 1
    assert keys(results) == [("article", 10)]


def test_price_category_and_stock_filters(catalogue):
    priced = catalogue.search(SearchQuery(kind="product", price_min_fen=50000, price_max_fen=100000))
    category = catalogue.search(SearchQuery(text="降噪耳机", category="digital"))
    in_stock = catalogue.search(SearchQuery(text="降噪耳机", in_stock=True))

    assert sorted(keys(priced)) == [("product", 1), ("product", 4)]
    assert keys(category) == [("product", 3)]
    assert in_stock.total == 0


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", [2, 1, 4, 3]),
        ("price_desc", [3, 4, 1, 2]),
        ("newest", [4, 3, 2, 1]),
        ("popular", [3, 2, 1, 4]),
    ],
)
def test_sorts_order_products(catalogue, sort, expected):
    results = catalogue.search(SearchQuery(kind="product", sort=sort))

    assert [hit.document.id for hit in results.hits] == expected


def test_pages_split_the_results(backend):
    backend.rebuild([product(index, f"羽绒服 {index}号", popularity=index) for index in range(1, 26)])

    first = backend.search(SearchQuery(text="羽绒服", per_page=10))
    third = backend.search(SearchQuery(text="羽绒服", per_page=10, page=3))

    assert first.total == 25 and first.pages == 3
    assert [hit.document.id for hit in first.hits] == list(range(25, 15, -1))
    assert [hit.document.id for hit in third.hits] == [5, 4, 3, 2, 1]


def test_matched_words_are_highlighted_and_the_rest_is_escaped(backend):
    backend.upsert([product(1, "<b>羽绒服</b> & Down Jackets", body="前言。" * 30 + "这件羽绒服很暖 <script>x</script>")])

    hit = backend.search(SearchQuery(text="羽绒服 jacket")).hits[0]

    assert str(hit.title_html) == "&lt;b&gt;<mark>羽绒服</mark>&lt;/b&gt; &amp; Down <mark>Jackets</mark>"
    assert "<mark>羽绒服</mark>" in hit.snippet_html
    assert "<script>" not in hit.snippet_html and "&lt;script&gt;" in hit.snippet_html
    assert hit.snippet_html.startswith("…")


def test_suggestions_complete_title_words_most_popular_first(catalogue):
    assert catalogue.suggest("羽") == ["波司登 轻薄羽绒服", "冬天穿什麼：羽絨服選購指南"]
    assert catalogue.suggest("ultra li") == ["优衣库 Ultra Light Down Jacket"]
    assert catalogue.suggest("moisturiz") == ["Moisturizer review for dry skin"]
    assert catalogue.suggest("降噪", limit=1) == ["索尼 WH-1000XM5 降噪耳机"]
    assert catalogue.suggest("") == []


def test_suggestions_come_from_titles_only(catalogue):
    assert catalogue.suggest("ceramid") == []


def test_did_you_mean_corrects_a_typo_from_the_index_vocabulary(catalogue):
    english = catalogue.search(SearchQuery(text="moisturiser"))
    chinese = catalogue.search(SearchQuery(text="羽戎服"))

    assert english.total == 0 and english.did_you_mean == "moisturizer"
    assert chinese.did_you_mean == "羽绒服"


def test_did_you_mean_stays_empty_when_nothing_close_exists(catalogue):
    results = catalogue.search(SearchQuery(text="zzqqxx"))

    assert results.total == 0 and results.did_you_mean is None


def test_words_of_deleted_documents_are_not_suggested_as_corrections(catalogue):
    catalogue.delete([("article", 11)])

    assert catalogue.search(SearchQuery(text="moisturiser")).did_you_mean is None


HOSTILE = [
    "'", "''", '"', "\\", "\\'", "a & b | !c", "羽绒:* & (", "!!!", ":*", "*", "()", "(((羽绒服",
    "' OR 1=1 --", "'); DROP TABLE search_document; --", "a\x00b", "\x01\x02\x1b[31m", "羽" * 10_000,
    "x" * 10_000, "😀🔥", "👩\u200d👩\u200d👧 羽绒服", "\ud800", "<->", "a <-> b", "a:A", "'羽绒'':*",
    "\u202e羽绒服", "NULL", "%_%", "$1", "　", "",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_never_raises(catalogue, hostile):
    results = catalogue.search(SearchQuery(text=hostile, category=hostile, sort=hostile, kind=hostile))
    suggestions = catalogue.suggest(hostile)

    assert results.total >= 0 and isinstance(suggestions, list)


def test_hostile_documents_are_indexed_without_error(backend):
    backend.upsert([product(1, "a\x00b '\\ :* & 羽绒服 😀 \ud800", body="x" * 300_000 + " 羽绒服", tags="|!()")])

    assert keys(backend.search(SearchQuery(text="羽绒服"))) == [("product", 1)]


def test_rebuild_replaces_everything(catalogue, engine):
    catalogue.rebuild([product(7, "安踏 跑鞋")])

    assert catalogue.indexed_versions() == {("product", 7): "v7"}
    assert catalogue.search(SearchQuery(text="羽绒服")).total == 0
    assert catalogue.search(SearchQuery(text="moisturiser")).did_you_mean is None
    with engine.connect() as connection:
        terms = set(connection.execute(text("SELECT term FROM search_term")).scalars())
    assert terms == {"安踏", "跑鞋"}


def test_readers_see_the_old_index_until_a_rebuild_commits(catalogue, engine):
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("DELETE FROM search_document")  # as a rebuild does first
        during = catalogue.search(SearchQuery(text="羽绒服"))
        connection.exec_driver_sql("ROLLBACK")

    assert during.total == 2


def test_the_backend_refuses_a_database_other_than_postgresql(tmp_path):
    from zhongcao.db import make_engine

    with pytest.raises(ValueError):
        PostgresBackend(make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"))


def test_when_no_document_has_every_word_any_word_may_match(catalogue):
    results = catalogue.search(SearchQuery(text="羽绒服 zzqqxx"))

    assert sorted(keys(results)) == [("article", 10), ("product", 1)]


@pytest.fixture
def small_sample(engine):
    """The backend with a sample of 20 matches, so a few hundred documents make a broad query."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the postgres search backend runs on PostgreSQL only")
    backend = PostgresBackend(engine, sample_size=20)
    # One article among every three products, all the way down the popularity order.
    documents = [
        product(index, f"羽绒服 {index}号", price_fen=100_000 - index, popularity=4 * index, days=index % 50)
        for index in range(1, 301)
    ]
    documents += [article(1000 + index, f"羽绒服笔记 {index}", popularity=12 * index - 2) for index in range(1, 101)]
    documents.append(creator(5000, "羽绒服达人 @down", popularity=0))
    backend.rebuild(documents)
    return backend


def test_a_broad_query_estimates_its_counts_from_the_sample(small_sample):
    results = small_sample.search(SearchQuery(text="羽绒服"))

    assert 320 <= results.total <= 480
    assert results.counts["product"] > results.counts["article"] > 0
    assert len(results.hits) == 20


def test_a_broad_query_ranks_the_most_popular_matches(small_sample):
    results = small_sample.search(SearchQuery(text="羽绒服", kind="product"))

    assert [hit.document.id for hit in results.hits[:3]] == [300, 299, 298]


def test_sorting_a_broad_query_by_price_or_date_stays_exact(small_sample):
    cheapest = small_sample.search(SearchQuery(text="羽绒服", kind="product", sort="price_asc"))
    dearest = small_sample.search(SearchQuery(text="羽绒服", kind="product", sort="price_desc"))
    last_page = small_sample.search(SearchQuery(text="羽绒服", kind="product", sort="price_desc", page=15))

    assert cheapest.hits[0].document.id == 300
    assert [hit.document.id for hit in dearest.hits[:3]] == [1, 2, 3]  # the least popular, far past the sample
    assert last_page.hits[-1].document.id == 300


def test_a_rare_kind_is_found_past_the_sample_of_a_broad_query(small_sample):
    results = small_sample.search(SearchQuery(text="羽绒服", kind="creator"))

    assert keys(results) == [("creator", 5000)]


def test_browsing_without_words_sorts_by_popularity(small_sample):
    results = small_sample.search(SearchQuery(kind="product", per_page=5))

    assert [hit.document.id for hit in results.hits] == [300, 299, 298, 297, 296]


def test_the_write_lock_is_held_in_the_database_for_every_app_server(backend, engine):
    from zhongcao.search.postgres_backend import _WRITE_LOCK_KEY

    def other_server_can_take_it() -> bool:
        with engine.connect() as connection:
            taken = connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY}).scalar()
            connection.rollback()
            return taken

    with backend.write_lock():
        while_held = other_server_can_take_it()

    assert while_held is False
    assert other_server_can_take_it() is True


def test_pages_of_a_broad_query_never_repeat_a_hit(small_sample):
    seen = []
    for page in range(1, 5):
        seen += keys(small_sample.search(SearchQuery(text="羽绒服", kind="product", per_page=15, page=page)))

    assert len(seen) == 60 and len(set(seen)) == 60


def test_pages_of_one_kind_in_a_broad_query_never_repeat_a_hit(small_sample):
    seen = []
    for page in range(1, 8):
        seen += keys(small_sample.search(SearchQuery(text="羽绒服", kind="article", per_page=7, page=page)))

    assert len(seen) == 49 and len(set(seen)) == 49
