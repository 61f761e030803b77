"""PostgreSQL full-text search: one shared index for any number of app servers, no shared disk.

Each Document is analysed in Python by `search.analysis` (the same folding and jieba segmentation the
Whoosh backend uses) and stored in `search_document` with a `tsvector` of the analysed title (weight
A), tags (B) and body (C) built by `to_tsvector('simple', …)`, which only splits on spaces what
analysis already segmented. Queries are built from analysed terms only: every lexeme is checked to
be letters, digits or Han characters before it is quoted into `to_tsquery`, so nothing a reader
types is ever read as tsquery syntax. Ranking is `ts_rank_cd` with popularity breaking ties.

"Did you mean" comes from the index's own vocabulary: see search.postgres_spelling.
"""
from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter

from markupsafe import Markup, escape
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from zhongcao.search import (
    KINDS,
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    SORTS,
    SUGGESTION_LIMIT,
    Document,
    DocumentKey,
    Hit,
    Results,
    SearchQuery,
)
from zhongcao.search import postgres_spelling as spelling
from zhongcao.search.analysis import fold, mark, query_groups, stem, terms

# A lexeme we quote into to_tsquery: letters, digits and Han characters only, so it can hold no
# quote, backslash, operator or space.
_LEXEME = re.compile(r"[^\W_]{1,100}")
_RUN = re.compile(r"[^\W_]+")
# ts_rank_cd weights for D, C, B, A: title over tags over body.
_RANK_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"
# Divide the rank by 1 + log(document length), so a long article that repeats a word does not bury
# the product named by it, then scale it into [0, 1) (rank / (rank + 1)).
_RANK_NORMALIZATION = 1 | 32
# tsvector values are limited to 1 MB; a body past this is indexed up to here only.
_MAX_ANALYSED_CHARS = 200_000
_MAX_PER_PAGE = 100
MAX_GROUPS = 12  # words of a query that count, as in the Whoosh backend
_MAX_FEN = 2**62
_SNIPPET_CHARS = 120
_SNIPPET_LEAD = 30
_MAX_DOCUMENTS_PER_STATEMENT = 500

_VECTOR_SQL = (
    "setweight(to_tsvector('simple', {title}), 'A') || "
    "setweight(to_tsvector('simple', {tags}), 'B') || "
    "setweight(to_tsvector('simple', {body}), 'C')"
)
_COLUMNS = (
    "kind", "id", "title", "tags", "body", "url", "version", "published_at", "popularity",
    "category", "price_fen", "in_stock", "image_url", "subtitle",
)
_ANALYSED = ("title_terms", "tags_terms", "body_terms")
_UPSERT = text(
    f"INSERT INTO search_document ({', '.join(_COLUMNS)}, search_vector) "
    f"VALUES ({', '.join(':' + name for name in _COLUMNS)}, "
    + _VECTOR_SQL.format(title=":title_terms", tags=":tags_terms", body=":body_terms")
    + ") ON CONFLICT (kind, id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _COLUMNS[2:])
    + ", search_vector = EXCLUDED.search_vector"
)
# SQL ORDER BY per sort for the exact path; `_SORT_KEYS` below is the same order in Python.
_SORT_ORDER = {
    "newest": "published_at DESC NULLS LAST, popularity DESC",
    "price_asc": "price_fen ASC NULLS LAST, popularity DESC",
    "price_desc": "price_fen DESC NULLS LAST, popularity DESC",
    "popular": "popularity DESC, published_at DESC NULLS LAST",
}
# Matches read per query. Up to this many, counts and order are exact. Past it (a broad query such
# as one common word), the counts are estimated from how much of the table the sample spanned, and
# relevance is ranked within tiers of this many matches in table order, which is popularity order:
# rebuild writes rows most popular first and the GIN bitmap returns them in table order. So the
# first pages rank the most popular matches, later pages the next ones, and pages never overlap.
# Sorting by price, date or popularity stays exact.
SAMPLE_SIZE = 500
SORTED_SAMPLE_FACTOR = 3  # see _Matcher
LOCK_TIMEOUT_SECONDS = 30
_WRITE_LOCK_KEY = 0x7A68_6F6E_6763_616F  # "zhongcao": the advisory lock every writer takes


class PostgresBackend:
    """The search index in PostgreSQL tables (see search/models.py and migration 0003)."""

    name = "postgres"

    def __init__(self, engine: Engine, *, sample_size: int = SAMPLE_SIZE) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"the postgres search backend needs a PostgreSQL database, not {engine.dialect.name}")
        self.engine = engine
        self.sample_size = max(1, sample_size)

    def search(self, query: SearchQuery) -> Results:
        """Run a reader's query. Never raises for any text: odd input is searched literally.

        Every word must match somewhere (any of its jieba pieces will do); when that finds nothing,
        any word may match, as in the Whoosh backend. Nothing at all: a "did you mean" from the
        index's vocabulary. SAMPLE_SIZE says how broad queries stay fast.
        """
        text_ = _clean(query.text)[:MAX_QUERY_LENGTH]
        groups = _lexeme_groups(text_)[:MAX_GROUPS]
        no_counts = {name: 0 for name in KINDS}
        if text_.strip() and not groups:
            return Results(query=query, hits=[], total=0, counts=no_counts)
        every_word = " & ".join(_tsquery_group(group) for group in groups)
        any_word = " | ".join(_tsquery_group(group) for group in groups) if len(groups) > 1 else None
        title_words = " & ".join(_tsquery_group(group, weights="A") for group in groups)
        with self.engine.connect() as connection:
            # Samples must come in table order (see SAMPLE_SIZE): from a bitmap scan of the GIN
            # index, the only cheap way to read many matches (a sequential scan would test and
            # decompress every row's vector), or, without words, from a sequential scan; never
            # from a b-tree in its key order. SET LOCAL ends with this read-only transaction.
            connection.exec_driver_sql(
                f"SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = {'off' if groups else 'on'}"
            )
            for tsquery in [each for each in (every_word, any_word) if each] if groups else [None]:
                matcher = _Matcher(connection, query, tsquery, title_words, self.sample_size)
                total, counts = matcher.count()
                if total:
                    ranked = matcher.page()
                    wanted = {term for group in groups for term in group}
                    hits = [_hit(row, score, wanted) for row, score in _documents(connection, ranked)]
                    return Results(query=query, hits=hits, total=total, counts=counts)
            did_you_mean = None
            if groups:
                did_you_mean = spelling.correction(connection, text_, lambda words: _finds(connection, words, query))
        return Results(query=query, hits=[], total=0, did_you_mean=did_you_mean, counts=no_counts)

    def suggest(self, prefix: str, *, limit: int = SUGGESTION_LIMIT) -> list[str]:
        """Up to `limit` titles whose words start with what the reader has typed so far, most popular first."""
        cleaned = _clean(prefix)[:MAX_QUERY_LENGTH]
        groups = _lexeme_groups(cleaned)
        if not groups or limit < 1:
            return []
        *complete, last = groups
        parts = [_tsquery_group(group, weights="A") for group in complete]
        partial, typed = _prefix_lexeme(cleaned, last)
        parts.append(f"'{partial}':*A" if partial else _tsquery_group(last, weights="A"))
        typed_word = re.compile(r"(?<![^\W_])" + re.escape(typed)) if typed else None
        # The first matches in table order are the most popular ones (see SAMPLE_SIZE): reading a
        # few of them beats sorting every title that a one-letter prefix matches.
        sql = text(
            "SELECT title, popularity FROM search_document "
            "WHERE search_vector @@ to_tsquery('simple', :tsquery) LIMIT :scan"
        )
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
            rows = connection.execute(sql, {"tsquery": " & ".join(parts), "scan": limit * 8}).all()
        titles = [title for title, _ in sorted(rows, key=lambda row: (-row.popularity, row.title))]
        unique: list[str] = []
        for title in titles:
            if title in unique or (typed_word and not typed_word.search(fold(title))):
                continue
            unique.append(title)
            if len(unique) == limit:
                break
        return unique

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the one writer's lock, shared by every app server through the database.

        `search.sync` holds it across reading documents and writing them, so when two servers
        change the same article the later read is also the later write. Raises after
        LOCK_TIMEOUT_SECONDS when another writer keeps it, as the Whoosh backend's lock does.
        """
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})
            yield

    def upsert(self, documents: Sequence[Document]) -> None:
        """Add or replace these documents in one transaction; visible to searches at once."""
        if not documents:
            return
        with self.engine.begin() as connection:
            vocabulary: Counter[str] = Counter()
            for batch in _batches(documents, _MAX_DOCUMENTS_PER_STATEMENT):
                rows = [_row(document, vocabulary) for document in batch]
                connection.execute(_UPSERT, rows)
            spelling.add_vocabulary(connection, vocabulary)

    def delete(self, keys: Sequence[DocumentKey]) -> None:
        """Remove these documents (unknown keys are ignored)."""
        if not keys:
            return
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "DELETE FROM search_document AS d USING unnest(CAST(:kinds AS text[]), CAST(:ids AS bigint[])) "
                    "AS gone(kind, id) WHERE d.kind = gone.kind AND d.id = gone.id"
                ),
                {"kinds": [_clean(kind) for kind, _ in keys], "ids": [int(key_id) for _, key_id in keys]},
            )

    def rebuild(self, documents: Iterable[Document]) -> None:
        """Replace the whole index in one transaction: searches see the old rows until it commits.

        Documents are read from `documents` inside the transaction, after the old rows are
        deleted, and upserts from other servers wait for the commit and then apply on top, so no
        change made meanwhile is lost. Rows are written most popular first (see SAMPLE_SIZE).
        """
        with self.engine.begin() as connection:
            # Writers wait (readers do not) until the new index is in, and two rebuilds never interleave.
            connection.exec_driver_sql("LOCK TABLE search_document IN SHARE ROW EXCLUSIVE MODE")
            connection.exec_driver_sql("DELETE FROM search_document")
            connection.exec_driver_sql("DELETE FROM search_term_variant")
            connection.exec_driver_sql("DELETE FROM search_term")
            vocabulary: Counter[str] = Counter()
            _copy_documents(connection, documents, vocabulary)
            spelling.add_vocabulary(connection, vocabulary)
        with self.engine.connect() as connection:
            # Fresh statistics, so the planner knows how common each kind, category and price is.
            connection.exec_driver_sql("ANALYZE search_document, search_term, search_term_variant")
            connection.commit()

    def indexed_versions(self) -> dict[DocumentKey, str]:
        """Every indexed document's key and version, for `zhongcao search-check`."""
        with self.engine.connect() as connection:
            rows = connection.execute(text("SELECT kind, id, version FROM search_document"))
            return {(kind, doc_id): version for kind, doc_id, version in rows}

    def size_bytes(self) -> int:
        """Disk used by the index's tables and their indexes (for the benchmark)."""
        with self.engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT pg_total_relation_size('search_document') + pg_total_relation_size('search_term') "
                    "+ pg_total_relation_size('search_term_variant')"
                )
            ).scalar_one()


# Columns of a sampled row (plain tuples: a broad query reads a thousand of them).
_KIND, _ID, _BLOCK, _SLOT, _POPULARITY, _PUBLISHED, _PRICE, _SCORE, _TABLE_PAGES, _ROWS_PER_PAGE, _KINDS_SEEN = range(11)


class _Matcher:
    """One query's matching rows: a sample of the first SAMPLE_SIZE + 1 in table order, the counts
    per kind (exact, or estimated past the sample), and one page of (kind, id, score) in order."""

    def __init__(self, connection: Connection, query: SearchQuery, tsquery: str | None, title_words: str,
                 sample_size: int) -> None:
        self.connection = connection
        self.kind = query.kind if query.kind in KINDS else None
        self.sort = query.sort if query.sort in SORTS else "relevance"
        self.has_text = tsquery is not None
        ranked = self.has_text and self.sort == "relevance"
        # Sorted by a column, a sample only counts and (when it holds every match) orders: it
        # needs no scores, so it is cheaper per row, and a larger one spares most filtered
        # queries the second, exact read.
        self.sample_size = sample_size if ranked else sample_size * SORTED_SAMPLE_FACTOR
        self.per_page = max(1, min(_MAX_PER_PAGE, int(query.per_page)))
        self.page_number = max(1, min(MAX_PAGE, int(query.page)))
        self.conditions, self.params = _filters(query)
        self.sample_conditions, _ = _filters(query, indexable=not self.has_text)
        # Product filters leave only products; no other kind need be looked for.
        self.possible_kinds = {"product"} if self.conditions else set(KINDS)
        self.score = "0.0"
        if tsquery is not None:
            matches = "search_vector @@ to_tsquery('simple', :tsquery)"
            self.conditions.insert(0, matches)
            self.sample_conditions.insert(0, matches)
            self.params.update(tsquery=tsquery, title_tsquery=title_words)
        if ranked:
            # A title holding every word of the query comes first; ts_rank_cd, kept below 1 by
            # normalisation 32, orders within that and among the rest.
            self.score = (
                "(search_vector @@ to_tsquery('simple', :title_tsquery))::int + "
                f"ts_rank_cd('{_RANK_WEIGHTS}', search_vector, to_tsquery('simple', :tsquery), {_RANK_NORMALIZATION})"
            )
        self.rows = self._sample(self.sample_conditions)
        self.truncated = len(self.rows) > self.sample_size
        del self.rows[self.sample_size:]
        self.every_match_of_kind: dict[str, list[tuple]] = {}  # kinds read whole while counting

    def _sample(self, conditions: list[str], limit: int | None = None) -> list[tuple]:
        """The first sample_size + 1 matches in table order, each with where it lies in the table,
        plus (the same on every row) the table's size and the kinds its statistics have seen."""
        return self.connection.execute(
            text(
                "SELECT kind, id, (ctid::text::point)[0]::bigint, (ctid::text::point)[1]::int, popularity, "
                "COALESCE(extract(epoch FROM published_at)::float8, '-Infinity'), price_fen, "
                f"{self.score}, "
                "(SELECT pg_relation_size('search_document') / current_setting('block_size')::int), "
                "(SELECT reltuples / NULLIF(relpages, 0) FROM pg_class WHERE oid = 'search_document'::regclass), "
                # The kinds in the table, when the statistics list every one of them.
                "(SELECT most_common_vals::text FROM pg_stats WHERE schemaname = current_schema() "
                "AND tablename = 'search_document' AND attname = 'kind' "
                "AND n_distinct = array_length(most_common_vals::text::text[], 1)) "
                f"FROM search_document WHERE {_where(conditions)} LIMIT :sample"
            ),
            dict(self.params, sample=limit or self.sample_size + 1),
        ).all()

    def count(self) -> tuple[int, dict[str, int]]:
        """The total for the query's kind, and the count for every kind."""
        counts = dict.fromkeys(KINDS, 0)
        for row in self.rows:
            counts[row[_KIND]] = counts.get(row[_KIND], 0) + 1
        if self.truncated:
            spread = _spread(self.rows)
            seen = self.rows[0][_KINDS_SEEN]
            present = set(seen.strip("{}").split(",")) if seen else set(KINDS)
            # Few of a kind among the most popular matches say little about how many there are:
            # such kinds (if the table holds any) are sampled again on their own.
            rare = [
                name for name in KINDS
                if counts[name] * 10 < len(self.rows) and name in present and name in self.possible_kinds
            ]
            counts = {name: round(count * spread) for name, count in counts.items()}
            if rare:
                rows = self._sample(self.sample_conditions + [_kind_condition(rare, self.has_text)])
                truncated = len(rows) > self.sample_size
                del rows[self.sample_size:]
                rare_spread = _spread(rows) if truncated else 1.0
                for name in rare:
                    of_kind = [row for row in rows if row[_KIND] == name]
                    counts[name] = round(len(of_kind) * rare_spread)
                    if not truncated:
                        self.every_match_of_kind[name] = of_kind
        total = counts.get(self.kind, 0) if self.kind else sum(counts.values())
        return total, counts

    def page(self) -> list[tuple[str, int, float]]:
        """(kind, id, score) of the requested page, in order."""
        start = (self.page_number - 1) * self.per_page
        end = start + self.per_page
        if self.truncated and (self.sort != "relevance" or not self.has_text):
            return self._exact_page(start)
        key = _SORT_KEYS[self.sort]
        candidates = [row for row in self.rows if self.kind is None or row[_KIND] == self.kind]
        if not self.truncated:
            return _page_of(heapq.nsmallest(end, candidates, key=key), start, end)
        # A broad query ranks its matches in tiers of sample_size, in table order (most popular
        # first): a page past the first tier reads further, and the pages never overlap.
        size = self.sample_size
        tiers = -(-end // size)
        if self.kind in self.every_match_of_kind:
            candidates = self.every_match_of_kind[self.kind]
        elif tiers > 1 or (self.kind and self.possible_kinds != {self.kind}):
            # Tiers of one kind are counted among that kind's matches alone.
            conditions = self.sample_conditions + ([_kind_condition([self.kind], True)] if self.kind else [])
            candidates = self._sample(conditions, limit=tiers * size)
        ordered: list[tuple] = []
        for tier in range(tiers):
            ordered.extend(sorted(candidates[tier * size:(tier + 1) * size], key=key))
        return _page_of(ordered, start, end)

    def _exact_page(self, start: int) -> list[tuple[str, int, float]]:
        sort = "popular" if self.sort == "relevance" else self.sort  # relevance without words
        # Here the planner may pick anything: walking a b-tree in sort order is often best.
        self.connection.exec_driver_sql("SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = on")
        conditions = self.conditions + ([_kind_condition([self.kind], False)] if self.kind else [])
        rows = self.connection.execute(
            text(
                f"SELECT kind, id FROM search_document WHERE {_where(conditions)} "
                f"ORDER BY {_SORT_ORDER[sort]}, kind, id LIMIT :limit OFFSET :offset"
            ),
            dict(self.params, limit=self.per_page, offset=start),
        )
        return [(kind, doc_id, 0.0) for kind, doc_id in rows]


def _page_of(rows: list[tuple], start: int, end: int) -> list[tuple[str, int, float]]:
    return [(row[_KIND], row[_ID], float(row[_SCORE])) for row in rows[start:end]]


def _spread(rows: list[tuple]) -> float:
    """How many times the sample's stretch of the table fits into the table from where it began:
    the matches of a broad query are spread evenly, so their count scales the same."""
    first = min(rows, key=itemgetter(_BLOCK, _SLOT))
    last = max(rows, key=itemgetter(_BLOCK, _SLOT))
    per_page = first[_ROWS_PER_PAGE] or len(rows) / (last[_BLOCK] - first[_BLOCK] + 1)
    start = first[_BLOCK] + (first[_SLOT] - 1) / per_page
    spanned = last[_BLOCK] + last[_SLOT] / per_page - start
    return max(1.0, (first[_TABLE_PAGES] - start) / spanned) if spanned > 0 else 1.0


def _kind_condition(kinds: list[str], has_text: bool) -> str:
    """`kind IN (…)` for names from KINDS; beside words, in a form the primary key cannot serve
    (a bitmap of every article costs more than testing the rows the words match)."""
    column = "(kind || '')" if has_text else "kind"
    return f"{column} IN ({', '.join(repr(name) for name in kinds if name in KINDS)})"


def _where(conditions: list[str]) -> str:
    return " AND ".join(conditions) or "TRUE"


# The Python twins of _SORT_ORDER, and relevance: score, then popularity, then newest. A missing
# publication time is -inf (last when newest first); a missing price sorts last either way.
_SORT_KEYS = {
    "relevance": lambda row: (-row[_SCORE], -row[_POPULARITY], -row[_PUBLISHED], row[_KIND], row[_ID]),
    "newest": lambda row: (-row[_PUBLISHED], -row[_POPULARITY], row[_KIND], row[_ID]),
    "price_asc": lambda row: (row[_PRICE] is None, row[_PRICE] or 0, -row[_POPULARITY], row[_KIND], row[_ID]),
    "price_desc": lambda row: (row[_PRICE] is None, -(row[_PRICE] or 0), -row[_POPULARITY], row[_KIND], row[_ID]),
    "popular": lambda row: (-row[_POPULARITY], -row[_PUBLISHED], row[_KIND], row[_ID]),
}


def _documents(connection: Connection, ranked: list[tuple[str, int, float]]) -> list[tuple]:
    """The stored rows of these (kind, id, score) keys, in the same order, each with its score."""
    if not ranked:
        return []
    rows = connection.execute(
        text(
            "SELECT kind, id, title, tags, body, url, version, published_at, popularity, category, price_fen, "
            "in_stock, image_url, subtitle FROM search_document "
            "WHERE (kind, id) IN (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:ids AS bigint[])))"
        ),
        {"kinds": [kind for kind, _, _ in ranked], "ids": [doc_id for _, doc_id, _ in ranked]},
    )
    by_key = {(row.kind, row.id): row for row in rows}
    return [(by_key[(kind, doc_id)], score) for kind, doc_id, score in ranked if (kind, doc_id) in by_key]


def _clean(value: str | None) -> str:
    """Text PostgreSQL can store: no NUL characters, no lone surrogates."""
    if not value:
        return ""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _lexeme_groups(text_: str) -> list[list[str]]:
    groups = []
    for group in query_groups(text_):
        kept = [term for term in group if _LEXEME.fullmatch(term)]
        if kept:
            groups.append(kept)
    return groups


def _tsquery_group(group: list[str], *, weights: str = "") -> str:
    alternatives = " | ".join(f"'{term}'{':' + weights if weights else ''}" for term in group)
    return f"({alternatives})" if len(group) > 1 else alternatives


def _prefix_lexeme(cleaned: str, last_group: list[str]) -> tuple[str | None, str | None]:
    """The lexeme prefix to complete for the last word typed, and (for English) the typed word the
    titles must really contain. A stem can be shorter than the typed part of its word (moisturiz…
    indexes as moistur), so English prefixes are cut back and the titles checked afterwards."""
    words = _RUN.findall(fold(cleaned))
    if not words:
        return None, None
    word = words[-1]
    if not word.isascii():
        return (last_group[0] if _LEXEME.fullmatch(last_group[0]) else None), None
    if len(word) <= 3:
        return (word if _LEXEME.fullmatch(word) else None), None
    stemmed = stem(word)
    common = 0
    while common < min(len(word), len(stemmed)) and word[common] == stemmed[common]:
        common += 1
    prefix = word[:max(3, min(common, len(word) - 3))]
    return (prefix if _LEXEME.fullmatch(prefix) else None), word


def _filters(query: SearchQuery, *, indexable: bool = True) -> tuple[list[str], dict]:
    """The product filters as SQL conditions. Not `indexable`: written so that no b-tree serves
    them, for queries the GIN index drives (a bitmap of every product in a price range costs more
    than testing the few rows the words match)."""
    category = "category" if indexable else "(category || '')"
    price = "price_fen" if indexable else "(price_fen + 0)"
    conditions: list[str] = []
    params: dict = {}
    if query.category:
        conditions.append(f"{category} = :category")
        params["category"] = _clean(query.category)
    if query.price_min_fen is not None:
        conditions.append(f"{price} >= :price_min")
        params["price_min"] = max(-_MAX_FEN, min(_MAX_FEN, int(query.price_min_fen)))
    if query.price_max_fen is not None:
        conditions.append(f"{price} <= :price_max")
        params["price_max"] = max(-_MAX_FEN, min(_MAX_FEN, int(query.price_max_fen)))
    if query.in_stock:
        conditions.append("in_stock IS TRUE")
    return conditions, params


def _analysed(value: str, vocabulary: set[str]) -> str:
    """The space-joined terms of `value`; its words, unstemmed, go into `vocabulary`."""
    value = value[:_MAX_ANALYSED_CHARS]
    found = terms(value)
    folded = fold(value)  # one character for one character: term offsets point into it too
    for term in found:
        word = folded[term.start:term.end]
        if 2 <= len(word) <= spelling.MAX_WORD and not word.isdigit() and _LEXEME.fullmatch(word):
            vocabulary.add(word)
    return " ".join(term.text for term in found if _LEXEME.fullmatch(term.text))


def _row(document: Document, vocabulary: Counter[str]) -> dict:
    title = _clean(document.title)
    tags = _clean(document.tags)
    body = _clean(document.body)
    words: set[str] = set()
    row = {
        "kind": _clean(document.kind),
        "id": int(document.id),
        "title": title,
        "tags": tags,
        "body": body,
        "url": _clean(document.url),
        "version": _clean(document.version),
        "published_at": document.published_at,
        "popularity": int(document.popularity or 0),
        "category": _clean(document.category) or None,
        "price_fen": document.price_fen,
        "in_stock": document.in_stock,
        "image_url": _clean(document.image_url) or None,
        "subtitle": _clean(document.subtitle),
        "title_terms": _analysed(title, words),
        "tags_terms": _analysed(tags, words),
        "body_terms": _analysed(body, words),
    }
    vocabulary.update(words)
    return row


def _copy_documents(connection: Connection, documents: Iterable[Document], vocabulary: Counter[str]) -> None:
    """Bulk load through COPY into a staging table, then build the vectors in one INSERT … SELECT."""
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE search_document_load (LIKE search_document INCLUDING DEFAULTS, "
        "title_terms text, tags_terms text, body_terms text) ON COMMIT DROP"
    )
    names = _COLUMNS + _ANALYSED
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY search_document_load ({', '.join(names)}) FROM STDIN") as copy:
            for document in documents:
                row = _row(document, vocabulary)
                copy.write_row([row[name] for name in names])
    connection.exec_driver_sql(
        f"INSERT INTO search_document ({', '.join(_COLUMNS)}, search_vector) "
        f"SELECT {', '.join(_COLUMNS)}, "
        + _VECTOR_SQL.format(title="title_terms", tags="tags_terms", body="body_terms")
        # Most popular first: the table order is the order broad queries sample matches in.
        + " FROM search_document_load ORDER BY popularity DESC, kind, id ON CONFLICT (kind, id) DO NOTHING"
    )


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _finds(connection: Connection, text_: str, query: SearchQuery) -> bool:
    """Whether `text_` (with the query's filters) matches any document."""
    groups = _lexeme_groups(text_)
    if not groups:
        return False
    conditions, params = _filters(query)
    conditions.insert(0, "search_vector @@ to_tsquery('simple', :tsquery)")
    params["tsquery"] = " & ".join(_tsquery_group(group) for group in groups)
    return connection.execute(text(f"SELECT 1 FROM search_document WHERE {_where(conditions)} LIMIT 1"), params).first() is not None


def _hit(row, score: float, wanted: set[str]) -> Hit:
    document = Document(
        kind=row.kind,
        id=row.id,
        title=row.title,
        tags=row.tags,
        body=row.body,
        url=row.url,
        version=row.version,
        published_at=row.published_at,
        popularity=row.popularity,
        category=row.category,
        price_fen=row.price_fen,
        in_stock=row.in_stock,
        image_url=row.image_url,
        subtitle=row.subtitle,
    )
    return Hit(
        document=document,
        score=score,
        title_html=mark(document.title, wanted),
        snippet_html=snippet(document.body, wanted),
    )


def snippet(body: str, wanted: set[str], *, length: int = _SNIPPET_CHARS) -> Markup:
    """A short excerpt of `body` around the first place a wanted word appears, highlighted."""
    if not body:
        return Markup("")
    folded = fold(body)
    first = min((at for word in wanted if (at := folded.find(word)) >= 0), default=0)
    start = max(0, first - _SNIPPET_LEAD)
    if start:
        space = body.rfind(" ", max(0, start - 15), first)
        start = space + 1 if space >= 0 else start
    end = min(len(body), start + length)
    excerpt = mark(body[start:end], wanted)
    lead = "…" if start else ""
    tail = "…" if end < len(body) else ""
    return Markup(lead) + excerpt + Markup(tail)
