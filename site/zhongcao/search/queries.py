"""Turning what a reader put in the address bar into a SearchQuery.

Everything here is forgiving: the text is plain text (cleaned and cut, never parsed as a query
language), and a bad type, sort, price or page is dropped with a note the page shows, so no input
can turn into an error page. Prices are typed in yuan and parsed to integer fen by catalog.prices,
with integer arithmetic only.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlmodel import Session, select

from zhongcao.articles.models import Article
from zhongcao.catalog.prices import parse_yuan
from zhongcao.errors import InvalidInput
from zhongcao.search import (
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    QUERY_KINDS,
    SORTS,
    Hit,
    Results,
    SearchBackend,
    SearchQuery,
)

PRICE_SORTS = ("price_asc", "price_desc")
POPULAR_LIMIT = 4  # per kind
POPULAR_KINDS = ("article", "product")
# Raw values longer than this are not even looked at (a price or page number never needs more).
_MAX_FIELD_LENGTH = 40
_CATEGORY_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?", re.ASCII)
_TRUE = frozenset({"1", "on", "true", "yes"})
# Bidirectional overrides and isolates can make the echoed query read differently from what was
# searched; zero-width joiners stay, because emoji sequences need them.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class Note:
    """Something about the reader's input that we changed or ignored: `field` and a messages code."""

    field: str
    code: str


@dataclass(frozen=True)
class ParsedQuery:
    query: SearchQuery
    notes: list[Note] = field(default_factory=list)

    @property
    def was_cut(self) -> bool:
        return any(note.code == "search_query_cut" for note in self.notes)


def clean_text(raw: str | None, *, limit: int = MAX_QUERY_LENGTH) -> tuple[str, bool]:
    """Plain search text: control characters and stray surrogates dropped, whitespace collapsed to
    single spaces, cut to `limit` characters. Returns the text and whether it was cut."""
    kept = []
    for char in raw or "":
        if char.isspace():
            kept.append(" ")
        elif char not in _BIDI_CONTROLS and unicodedata.category(char) not in _DROPPED_CATEGORIES:
            kept.append(char)
    text = " ".join("".join(kept).split())
    if len(text) <= limit:
        return text, False
    return text[:limit].rstrip(), True


def parse_search_args(args: Mapping[str, str], *, categories: Collection[str] | None = None) -> ParsedQuery:
    """The SearchQuery for request arguments (q, type, category, min, max, in_stock, sort, page).

    `categories` are the slugs that exist; a category outside them is ignored with a note.
    Never raises: every unusable value becomes the default plus a Note.
    """
    notes: list[Note] = []
    text, was_cut = clean_text(args.get("q"))
    if was_cut:
        notes.append(Note("q", "search_query_cut"))
    kind = _choice(args.get("type"), QUERY_KINDS, "type", "search_type_unknown", notes) or "all"
    sort = _choice(args.get("sort"), SORTS, "sort", "search_sort_unknown", notes) or "relevance"
    category = _category(args.get("category"), categories, notes)
    price_min = _price(args.get("min"), "min", notes)
    price_max = _price(args.get("max"), "max", notes)
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
        notes.append(Note("max", "search_price_swapped"))
    in_stock = (args.get("in_stock") or "").strip().lower() in _TRUE
    page = _page(args.get("page"), notes)

    has_product_filter = category is not None or price_min is not None or price_max is not None or in_stock
    # Prices, categories and stock belong to products alone: asking for them means asking for products.
    if kind == "all" and (has_product_filter or sort in PRICE_SORTS):
        kind = "product"
    if kind in ("article", "creator"):
        if sort in PRICE_SORTS:
            notes.append(Note("sort", "search_sort_products_only"))
            sort = "relevance"
        if has_product_filter:
            notes.append(Note("category", "search_filters_products_only"))
            category, price_min, price_max, in_stock = None, None, None, False
    query = SearchQuery(
        text=text,
        kind=kind,
        category=category,
        price_min_fen=price_min,
        price_max_fen=price_max,
        in_stock=in_stock,
        sort=sort,
        page=page,
    )
    return ParsedQuery(query=query, notes=notes)


def on_page(query: SearchQuery, page: int) -> SearchQuery:
    """The same query on another page, kept within 1..MAX_PAGE."""
    return replace(query, page=max(1, min(MAX_PAGE, page)))


def _choice(raw: str | None, allowed: tuple[str, ...], name: str, code: str, notes: list[Note]) -> str | None:
    value = (raw or "").strip().lower()[:_MAX_FIELD_LENGTH]
    if not value:
        return None
    if value in allowed:
        return value
    notes.append(Note(name, code))
    return None


def _category(raw: str | None, known: Collection[str] | None, notes: list[Note]) -> str | None:
    value = (raw or "").strip().lower()
    if not value:
        return None
    if not _CATEGORY_SLUG.fullmatch(value) or (known is not None and value not in known):
        notes.append(Note("category", "search_category_unknown"))
        return None
    return value


def _price(raw: str | None, name: str, notes: list[Note]) -> int | None:
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > _MAX_FIELD_LENGTH:
        notes.append(Note(name, "price_too_large"))
        return None
    try:
        return parse_yuan(value, field=name)
    except InvalidInput as error:
        notes.append(Note(name, error.code))
        return None


def _page(raw: str | None, notes: list[Note]) -> int:
    value = (raw or "").strip()
    if not value:
        return 1
    if not value.isascii() or not value.isdigit():
        notes.append(Note("page", "search_page_invalid"))
        return 1
    # A huge number is just "far beyond the end", not an error.
    digits = value.lstrip("0") or "0"
    return MAX_PAGE if len(digits) > 6 else max(1, min(MAX_PAGE, int(digits)))


@dataclass(frozen=True)
class SearchPage:
    """What the search page shows: the results, and popular items when there is nothing else to show."""

    results: Results
    popular: dict[str, list[Hit]] = field(default_factory=dict)  # kind -> most popular first

    @property
    def is_landing(self) -> bool:
        return is_landing(self.results.query)


def is_landing(query: SearchQuery) -> bool:
    """True when the reader has asked for nothing yet: no text, no tab, no filters."""
    return query == SearchQuery(sort=query.sort, page=query.page, per_page=query.per_page)


def run_search(backend: SearchBackend, query: SearchQuery, *, popular_limit: int = POPULAR_LIMIT) -> SearchPage:
    """Search, stepping back to the last page when `query.page` is past the end. Popular items come
    along when nothing matched (up to `popular_limit` of each popular kind), and alone on the landing
    page (an empty search box)."""
    if is_landing(query):
        return SearchPage(results=Results(query=query, hits=[], total=0), popular=_popular(backend, popular_limit))
    results = backend.search(query)
    if not results.hits and results.total > 0 and query.page > results.pages:
        results = backend.search(on_page(query, results.pages))
    if results.hits:
        return SearchPage(results=results)
    return SearchPage(results=results, popular=_popular(backend, popular_limit))


def _popular(backend: SearchBackend, limit: int) -> dict[str, list[Hit]]:
    # One list per kind: articles' and products' popularity are counted differently, so one ranking
    # over both would show only one kind.
    popular = {kind: backend.search(SearchQuery(kind=kind, sort="popular", per_page=limit)).hits for kind in POPULAR_KINDS}
    return {kind: hits for kind, hits in popular.items() if hits}


@dataclass(frozen=True)
class ArticleLabels:
    """What an article card shows beside its title: its kind, and the advertising label when it carries purchase links."""

    kind: str
    has_commission: bool


def article_labels(session: Session, hits: Sequence[Hit]) -> dict[int, ArticleLabels]:
    """Labels for the article hits, read in one query (documents do not carry them)."""
    ids = sorted({hit.document.id for hit in hits if hit.document.kind == "article"})
    if not ids:
        return {}
    rows = session.exec(select(Article.id, Article.kind, Article.has_commission).where(Article.id.in_(ids)))
    return {article_id: ArticleLabels(kind, bool(has_commission)) for article_id, kind, has_commission in rows}
