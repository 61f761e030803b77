""""Did you mean" for the PostgreSQL backend, from the index's own vocabulary.

Every word the index holds (folded, unstemmed) is a row of `search_term`, and each of its
one-character deletions (and the word itself) a row of `search_term_variant`. Two words within one
edit of each other share a variant (symmetric deletion), so finding the candidates for a misspelt
word is one indexed lookup of its own variants; no extension such as pg_trgm is needed. Chinese
typos are corrected whole (羽戎服 → 羽绒服) before word by word, because jieba cuts a misspelt
word into unrelated pieces.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from zhongcao.search.analysis import fold, terms

MAX_WORD = 30  # longer words are neither kept in the vocabulary nor corrected
_RUN = re.compile(r"[^\W_]+")
_BATCH = 50_000
_ADD_TERMS = text(
    "INSERT INTO search_term (term, doc_count) "
    "SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:counts AS integer[])) "
    "ON CONFLICT (term) DO NOTHING"
)
_ADD_VARIANTS = text(
    "INSERT INTO search_term_variant (variant, term) "
    "SELECT * FROM unnest(CAST(:variants AS text[]), CAST(:terms AS text[])) "
    "ON CONFLICT DO NOTHING"
)


def variants(word: str) -> set[str]:
    """The word and every way of deleting one of its characters."""
    return {word} | {word[:at] + word[at + 1:] for at in range(len(word))}


def add_vocabulary(connection: Connection, vocabulary: Counter[str]) -> None:
    """Add words (with how many documents use them) that the vocabulary does not hold yet.

    Counts of words already held are left alone: they are only used to prefer the commoner of two
    equally close corrections, and a rebuild recounts them.
    """
    if not vocabulary:
        return
    words = sorted(vocabulary)
    connection.execute(_ADD_TERMS, {"terms": words, "counts": [vocabulary[word] for word in words]})
    pairs = sorted({(variant, word) for word in words for variant in variants(word) if variant})
    for start in range(0, len(pairs), _BATCH):
        batch = pairs[start:start + _BATCH]
        connection.execute(_ADD_VARIANTS, {"variants": [v for v, _ in batch], "terms": [w for _, w in batch]})


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def correction(connection: Connection, text_: str, finds: Callable[[str], bool]) -> str | None:
    """The query with each unknown word replaced by the closest known one (one edit, two for words
    of six letters or more), if `finds` says that query matches something; otherwise None."""
    folded = fold(text_)
    chunks = [(match.start(), match.end(), match.group()) for match in _RUN.finditer(folded)]
    if not chunks:
        return None
    # A chunk's words, when jieba's main words spell the chunk out exactly.
    words_of: dict[str, list[str]] = {}
    for _, _, chunk in chunks:
        found = [term for term in terms(chunk, stems=False) if term.text == chunk[term.start:term.end]]
        main: dict[int, str] = {}
        for term in found:
            if len(term.text) > len(main.get(term.position, "")):
                main[term.position] = term.text
        words = list(main.values())
        words_of[chunk] = words if "".join(words) == chunk else []
    lookups = {word for chunk, words in words_of.items() for word in [chunk, *words] if len(word) <= MAX_WORD}
    known = set(
        connection.execute(text("SELECT term FROM search_term WHERE term = ANY(:words)"), {"words": sorted(lookups)})
        .scalars()
    )
    unknown = {word for word in lookups if word not in known and len(word) >= 2}
    candidates = _candidates(connection, unknown)

    def closest(word: str) -> str | None:
        limit = 1 if len(word) < 6 else 2
        scored = [
            (distance, -count, candidate)
            for candidate, count in candidates.items()
            if (distance := edit_distance(word, candidate)) <= limit
        ]
        return min(scored)[2] if scored else None

    out: list[str] = []
    cursor = 0
    for start, end, chunk in chunks:
        out.append(folded[cursor:start])
        cursor = end
        words = words_of[chunk]
        if chunk in known or (words and all(word in known or len(word) < 2 for word in words)):
            out.append(chunk)
        elif corrected := closest(chunk):
            out.append(corrected)
        else:
            out.append("".join((closest(word) or word) if word in unknown else word for word in words) or chunk)
    out.append(folded[cursor:])
    suggestion = " ".join("".join(out).split())
    if suggestion == " ".join(folded.split()):
        return None
    return suggestion if finds(suggestion) else None


def _candidates(connection: Connection, unknown: set[str]) -> dict[str, int]:
    """Known words sharing a variant with any unknown word, with their document counts."""
    wanted = sorted({variant for word in unknown for variant in variants(word)})
    if not wanted:
        return {}
    rows = connection.execute(
        text(
            "SELECT DISTINCT t.term, t.doc_count FROM search_term_variant AS v JOIN search_term AS t "
            "ON t.term = v.term WHERE v.variant = ANY(:variants)"
        ),
        {"variants": wanted},
    )
    return {term: doc_count for term, doc_count in rows}
