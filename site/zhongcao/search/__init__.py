"""The small search interface every backend implements (Whoosh on a shared disk, PostgreSQL full text).

Views and domain code use only what is defined here: build a SearchQuery, call `backend.search`,
render the Results. Documents are built from the database by `search.documents`; backends never
read our tables themselves, so both index exactly the same text.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from markupsafe import Markup

KINDS = ("product", "article", "creator")
QUERY_KINDS = ("all",) + KINDS
SORTS = ("relevance", "newest", "price_asc", "price_desc", "popular")
MAX_QUERY_LENGTH = 100  # characters kept from what a reader typed; longer input is cut, not refused
MAX_PAGE = 50
PER_PAGE = 20
SUGGESTION_LIMIT = 8

DocumentKey = tuple[str, int]  # (kind, id)


@dataclass(frozen=True)
class SearchQuery:
    """What a reader asked for. `text` is plain text: never parsed as a query language."""

    text: str = ""
    kind: str = "all"  # one of QUERY_KINDS
    category: str | None = None  # category slug; products only
    price_min_fen: int | None = None  # products only
    price_max_fen: int | None = None
    in_stock: bool = False  # products only
    sort: str = "relevance"  # one of SORTS
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class Document:
    """One searchable item, built from database rows by search.documents."""

    kind: str  # product / article / creator
    id: int
    title: str  # product title, article title, creator display name + @handle
    tags: str  # space-separated tags, brand, category names, handle
    body: str  # description, article text (Markdown stripped), bio
    url: str  # site-relative path to the item's page
    version: str  # changes whenever the indexed content changes (search-check compares it)
    published_at: datetime | None = None  # articles: publication time; products/creators: creation time
    popularity: int = 0  # views, likes, … (articles), sales or featured count (products), followers (creators)
    category: str | None = None  # products: category slug
    price_fen: int | None = None  # products
    in_stock: bool | None = None  # products
    image_url: str | None = None  # for result cards
    subtitle: str = ""  # for result cards: shop name, author handle, "N 位粉丝"

    @property
    def key(self) -> DocumentKey:
        return (self.kind, self.id)


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float
    title_html: Markup  # title with matched terms wrapped in <mark>, escaped
    snippet_html: Markup  # a short excerpt of the body with <mark>s, escaped


@dataclass(frozen=True)
class Results:
    query: SearchQuery
    hits: list[Hit]
    total: int
    did_you_mean: str | None = None  # a corrected query from the index's own vocabulary, when nothing matched
    counts: dict[str, int] = field(default_factory=dict)  # hits per kind, for the tabs

    @property
    def pages(self) -> int:
        return max(1, min(MAX_PAGE, -(-self.total // self.query.per_page)))


class SearchBackend(Protocol):
    """Implemented by whoosh_backend.WhooshBackend and postgres_backend.PostgresBackend."""

    name: str

    def search(self, query: SearchQuery) -> Results:
        """Run a reader's query. Never raises for any text: odd input is searched literally."""

    def suggest(self, prefix: str, *, limit: int = SUGGESTION_LIMIT) -> list[str]:
        """Up to `limit` completions (titles or terms) for what the reader has typed so far."""

    def upsert(self, documents: Sequence[Document]) -> None:
        """Add or replace these documents; visible to searches within a second."""

    def delete(self, keys: Sequence[DocumentKey]) -> None:
        """Remove these documents (unknown keys are ignored)."""

    def rebuild(self, documents: Iterable[Document]) -> None:
        """Build a fresh index from scratch and swap it in atomically while searches go on."""

    def indexed_versions(self) -> dict[DocumentKey, str]:
        """Every indexed document's key and version, for `zhongcao search-check`."""
