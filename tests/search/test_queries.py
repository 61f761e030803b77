"""Turning request arguments into a SearchQuery: plain-text cleanup, caps, yuan to fen, forgiving defaults."""
from __future__ import annotations

import pytest

from zhongcao.search import MAX_PAGE, MAX_QUERY_LENGTH, SearchQuery
from zhongcao.search.queries import clean_text, on_page, parse_search_args


def codes(parsed) -> list[str]:
    return [note.code for note in parsed.notes]


def test_no_arguments_give_the_default_query_without_notes():
    parsed = parse_search_args({})

    assert parsed.query == SearchQuery()
    assert parsed.notes == []


def test_control_characters_and_surrogates_are_dropped_and_whitespace_collapsed():
    text, was_cut = clean_text("  羽绒\x00服\t\n  轻薄\x1b[31m \ud800 \u202eevil\u3000 ")

    assert text == "羽绒服 轻薄[31m evil"
    assert was_cut is False


def test_emoji_sequences_and_query_syntax_are_kept_as_plain_text():
    assert clean_text("👩\u200d👩\u200d👧 title:x AND (y OR \"z")[0] == "👩\u200d👩\u200d👧 title:x AND (y OR \"z"


def test_long_queries_are_cut_to_the_limit_with_a_note():
    parsed = parse_search_args({"q": "羽" * 10_000})

    assert parsed.query.text == "羽" * MAX_QUERY_LENGTH
    assert codes(parsed) == ["search_query_cut"]
    assert parsed.was_cut


def test_a_query_of_only_whitespace_and_controls_is_empty():
    assert parse_search_args({"q": " \x00\x07\t \u200f "}).query.text == ""


def test_yuan_bounds_become_integer_fen():
    parsed = parse_search_args({"min": "99.5", "max": "¥1,299"})

    assert parsed.query.price_min_fen == 9950
    assert parsed.query.price_max_fen == 129900
    assert parsed.notes == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("abc", "price_format"),
        ("1e3", "price_format"),
        ("NaN", "price_format"),
        ("-5", "price_negative"),
        ("1.999", "price_too_many_decimals"),
        ("99999999999", "price_too_large"),
        ("9" * 500, "price_too_large"),
        ("１００", "price_format"),
    ],
)
def test_unusable_prices_are_ignored_with_the_reason(raw, code):
    parsed = parse_search_args({"max": raw})

    assert parsed.query.price_max_fen is None
    assert [(note.field, note.code) for note in parsed.notes] == [("max", code)]


def test_a_price_range_typed_the_wrong_way_round_is_swapped():
    parsed = parse_search_args({"min": "500", "max": "100"})

    assert (parsed.query.price_min_fen, parsed.query.price_max_fen) == (10000, 50000)
    assert codes(parsed) == ["search_price_swapped"]


def test_product_filters_on_the_all_tab_mean_products():
    assert parse_search_args({"max": "300"}).query.kind == "product"
    assert parse_search_args({"in_stock": "1"}).query.kind == "product"
    assert parse_search_args({"sort": "price_asc"}).query.kind == "product"
    assert parse_search_args({"sort": "newest"}).query.kind == "all"


def test_product_filters_on_the_article_tab_are_dropped_with_a_note():
    parsed = parse_search_args({"type": "article", "max": "300", "in_stock": "on", "sort": "price_desc"})

    assert parsed.query == SearchQuery(kind="article")
    assert codes(parsed) == ["search_sort_products_only", "search_filters_products_only"]


@pytest.mark.parametrize("value", ["1", "on", "true", "TRUE", " yes "])
def test_in_stock_accepts_the_usual_checkbox_values(value):
    assert parse_search_args({"in_stock": value}).query.in_stock is True


@pytest.mark.parametrize("value", ["", "0", "off", "no", "2", "\x00"])
def test_in_stock_is_off_for_anything_else(value):
    assert parse_search_args({"in_stock": value}).query.in_stock is False


def test_unknown_type_and_sort_fall_back_to_defaults_with_notes():
    parsed = parse_search_args({"type": "users; DROP TABLE", "sort": "random()"})

    assert (parsed.query.kind, parsed.query.sort) == ("all", "relevance")
    assert codes(parsed) == ["search_type_unknown", "search_sort_unknown"]


def test_type_and_sort_ignore_case_and_spaces():
    query = parse_search_args({"type": " Product ", "sort": "NEWEST"}).query

    assert (query.kind, query.sort) == ("product", "newest")


@pytest.mark.parametrize(
    ("raw", "page", "noted"),
    [
        ("3", 3, False),
        ("0", 1, False),
        ("007", 7, False),
        ("999999999999999999999999", MAX_PAGE, False),
        (str(MAX_PAGE + 1), MAX_PAGE, False),
        ("-2", 1, True),
        ("2.5", 1, True),
        ("٣", 1, True),
        ("two", 1, True),
    ],
)
def test_pages_are_clamped_and_nonsense_is_noted(raw, page, noted):
    parsed = parse_search_args({"page": raw})

    assert parsed.query.page == page
    assert codes(parsed) == (["search_page_invalid"] if noted else [])


def test_categories_must_be_known_slugs():
    known = {"outerwear", "beauty"}

    assert parse_search_args({"category": "outerwear"}, categories=known).query.category == "outerwear"
    unknown = parse_search_args({"category": "shoes"}, categories=known)
    malformed = parse_search_args({"category": "../etc/passwd"})
    assert unknown.query.category is None and codes(unknown) == ["search_category_unknown"]
    assert malformed.query.category is None and codes(malformed) == ["search_category_unknown"]


def test_a_known_category_asks_for_products():
    assert parse_search_args({"category": "beauty"}, categories={"beauty"}).query.kind == "product"


def test_on_page_keeps_everything_else_and_stays_in_bounds():
    query = parse_search_args({"q": "羽绒", "max": "300"}).query

    assert on_page(query, 4) == SearchQuery(text="羽绒", kind="product", price_max_fen=30000, page=4)
    assert on_page(query, 0).page == 1
    assert on_page(query, MAX_PAGE + 9).page == MAX_PAGE
