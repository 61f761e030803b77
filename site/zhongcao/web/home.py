"""What the home page shows."""
from __future__ import annotations


def home_context() -> dict:
    return {}
