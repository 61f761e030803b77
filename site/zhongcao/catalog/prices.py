"""Money and rates as merchants type them: "199.00" yuan to integer fen, "12.5" percent to basis points.

Parsed with integer arithmetic on the digits themselves, never through float or Decimal rounding:
a price the merchant typed either converts exactly or is refused with a clear reason.
"""
from __future__ import annotations

import re

from zhongcao.errors import InvalidInput

# ASCII digits only (re.ASCII): "１９９" or "1e3" or "1_000" are refused, not silently converted.
_AMOUNT = re.compile(r"(\d+)(?:\.(\d*))?", re.ASCII)
_COUNT = re.compile(r"\d+", re.ASCII)

# ¥9,999,999.99 fits PostgreSQL's 32-bit integer column with room to spare.
MAX_PRICE_FEN = 999_999_999
MAX_STOCK = 1_000_000
PERCENT_BP = 10_000  # 100% in basis points


def parse_yuan(text: str | None, *, field: str = "price") -> int:
    """Yuan as typed ("199", "199.9", "¥1,299.00") to integer fen.

    Raises InvalidInput with code price_required, price_negative, price_format,
    price_too_many_decimals or price_too_large.
    """
    cleaned = _strip_amount(text).lstrip("¥￥").replace(",", "").replace("，", "")
    if not cleaned:
        raise InvalidInput(field=field, code="price_required")
    whole, fraction = _split_amount(cleaned, field=field, prefix="price")
    if len(fraction) > 2:
        raise InvalidInput(field=field, code="price_too_many_decimals")
    if len(whole.lstrip("0")) > len(str(MAX_PRICE_FEN // 100)):
        raise InvalidInput(field=field, code="price_too_large")
    fen = int(whole) * 100 + int(fraction.ljust(2, "0"))
    if fen > MAX_PRICE_FEN:
        raise InvalidInput(field=field, code="price_too_large")
    return fen


def parse_percent(text: str | None, *, field: str = "commission") -> int:
    """A percentage as typed ("12", "12.5", "12.34%") to integer basis points (1250).

    Raises InvalidInput with code percent_required, percent_negative, percent_format,
    percent_too_many_decimals or percent_too_large (over 100%).
    """
    cleaned = _strip_amount(text).rstrip("%％").strip()
    if not cleaned:
        raise InvalidInput(field=field, code="percent_required")
    whole, fraction = _split_amount(cleaned, field=field, prefix="percent")
    if len(fraction) > 2:
        raise InvalidInput(field=field, code="percent_too_many_decimals")
    if len(whole.lstrip("0")) > 3:
        raise InvalidInput(field=field, code="percent_too_large")
    bp = int(whole) * 100 + int(fraction.ljust(2, "0"))
    if bp > PERCENT_BP:
        raise InvalidInput(field=field, code="percent_too_large")
    return bp


def parse_count(text: str | None, *, field: str = "stock") -> int:
    """A whole number of items ("0", "12") as an int. Raises InvalidInput (count_*)."""
    cleaned = _strip_amount(text)
    if not cleaned:
        raise InvalidInput(field=field, code="count_required")
    if cleaned.startswith("-"):
        raise InvalidInput(field=field, code="count_negative")
    if not _COUNT.fullmatch(cleaned):
        raise InvalidInput(field=field, code="count_format")
    if len(cleaned.lstrip("0")) > len(str(MAX_STOCK)) or int(cleaned) > MAX_STOCK:
        raise InvalidInput(field=field, code="count_too_large")
    return int(cleaned)


def yuan_text(fen: int) -> str:
    """Integer fen as a plain decimal string ("199.00"), for form fields and schema.org offers."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole}.{cents:02d}"


def percent_text(bp: int) -> str:
    """Basis points as the shortest exact percentage ("12.5", "1", "0.05"), for form fields and messages."""
    whole, rest = divmod(int(bp), 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def _strip_amount(text: str | None) -> str:
    return (text or "").strip()


def _split_amount(cleaned: str, *, field: str, prefix: str) -> tuple[str, str]:
    if cleaned.startswith("-"):
        raise InvalidInput(field=field, code=f"{prefix}_negative")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise InvalidInput(field=field, code=f"{prefix}_format")
    return match.group(1), match.group(2) or ""
