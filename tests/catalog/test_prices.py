"""Yuan and percentages as merchants type them, converted exactly to fen and basis points (no floats)."""
from __future__ import annotations

import pytest

from zhongcao.catalog.prices import parse_count, parse_percent, parse_yuan, percent_text, yuan_text
from zhongcao.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("199", 19900),
        ("199.9", 19990),
        ("199.99", 19999),
        ("0.01", 1),
        ("0", 0),
        (" 199.00 ", 19900),
        ("¥1,299.50", 129950),
        ("0.1", 10),
        ("9999999.99", 999_999_999),
    ],
)
def test_yuan_text_converts_exactly_to_fen(typed, fen):
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("1.234", "price_too_many_decimals"),
        ("abc", "price_format"),
        ("1e3", "price_format"),
        ("-1", "price_negative"),
        ("", "price_required"),
        ("   ", "price_required"),
        ("10000000", "price_too_large"),
        ("9" * 400, "price_too_large"),
        ("1.2.3", "price_format"),
        ("１９９", "price_format"),
        ("nan", "price_format"),
        ("inf", "price_format"),
        ("1_000", "price_format"),
        (".5", "price_format"),
    ],
)
def test_malformed_yuan_is_refused_with_a_reason(typed, code):
    with pytest.raises(InvalidInput) as caught:
        parse_yuan(typed, field="price")

    assert caught.value.code == code
    assert caught.value.field == "price"


@pytest.mark.parametrize(
    ("typed", "bp"),
    [("12.5", 1250), ("1", 100), ("50", 5000), ("0.01", 1), ("12.34%", 1234), ("100", 10000), ("0", 0)],
)
def test_percentages_convert_exactly_to_basis_points(typed, bp):
    assert parse_percent(typed) == bp


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("12.345", "percent_too_many_decimals"),
        ("abc", "percent_format"),
        ("1e1", "percent_format"),
        ("-5", "percent_negative"),
        ("", "percent_required"),
        ("100.01", "percent_too_large"),
        ("123456789", "percent_too_large"),
    ],
)
def test_malformed_percentages_are_refused_with_a_reason(typed, code):
    with pytest.raises(InvalidInput) as caught:
        parse_percent(typed)

    assert caught.value.code == code


@pytest.mark.parametrize(("typed", "code"), [("-1", "count_negative"), ("2.5", "count_format"), ("x", "count_format"), ("", "count_required"), ("1000001", "count_too_large")])
def test_stock_must_be_a_whole_non_negative_number(typed, code):
    with pytest.raises(InvalidInput) as caught:
        parse_count(typed)

    assert caught.value.code == code


def test_stock_parses_whole_numbers():
    assert parse_count(" 12 ") == 12
    assert parse_count("0") == 0


def test_stored_amounts_format_back_to_what_a_merchant_would_type():
    assert yuan_text(19900) == "199.00"
    assert yuan_text(1) == "0.01"
    assert percent_text(1250) == "12.5"
    assert percent_text(100) == "1"
    assert percent_text(5) == "0.05"
    assert parse_yuan(yuan_text(123456)) == 123456
    assert parse_percent(percent_text(1234)) == 1234
