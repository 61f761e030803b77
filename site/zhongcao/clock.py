"""The one clock: domain code takes `now=` and falls back to utcnow(), so tests move time by passing a value."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    # Aware UTC: SQLModel's UTCDateTime columns refuse naive datetimes and hand back aware UTC ones.
    return datetime.now(timezone.utc)
