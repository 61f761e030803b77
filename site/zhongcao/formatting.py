"""Display formats: money from integer fen, rates from basis points, dates in China's time zone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def yuan(fen: int | None) -> str:
    """¥ with two decimals from integer fen, computed with integers only: 12345 -> "¥123.45"."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def bp_percent(bp: int | None) -> str:
    """Basis points as a percentage without floats: 1250 -> "12.5%"."""
    if bp is None:
        return ""
    whole, rest = divmod(int(bp), 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


CHINA_TIME = timezone(timedelta(hours=8), "CST")


def datetime_zh(value: datetime | None) -> str:
    """A stored UTC datetime shown in China Standard Time (UTC+8), as readers expect."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(CHINA_TIME)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
