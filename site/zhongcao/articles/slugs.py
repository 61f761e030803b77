"""Article slugs: readable ASCII from the title (pinyin for Chinese), unique per author."""
from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable

from pypinyin import lazy_pinyin

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_LENGTH = 80
# Enough syllables to be recognisable in a URL without turning a long title into a long URL.
MAX_PINYIN_SYLLABLES = 6
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
_RUNS = re.compile(r"[\u3400-\u9fff]+|[^\u3400-\u9fff]+")


def is_valid_slug(slug: str) -> bool:
    return len(slug) <= MAX_LENGTH and bool(SLUG_PATTERN.match(slug))


def slug_for_title(title: str) -> str:
    """An ASCII slug for a title: words lower-cased and hyphenated, Chinese as toneless pinyin syllables.

    Only the first few syllables are kept; a title with nothing usable gets a short random id.
    """
    words: list[str] = []
    syllables = 0
    for run in _RUNS.findall(title or ""):
        if _HAN.match(run):
            for syllable in lazy_pinyin(run):
                if syllables < MAX_PINYIN_SYLLABLES:
                    words.append(syllable)
                syllables += 1
        else:
            ascii_run = unicodedata.normalize("NFKD", run).encode("ascii", "ignore").decode().lower()
            words.extend(part for part in _NOT_SLUG.split(ascii_run) if part)
    slug = "-".join(words)[:60].strip("-")
    return slug if SLUG_PATTERN.match(slug) else f"a-{secrets.token_hex(3)}"


def unique_slug(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`, … whichever is first not in `taken`."""
    taken = set(taken)
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
