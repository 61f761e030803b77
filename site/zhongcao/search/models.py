"""Tables of the PostgreSQL search backend: the indexed documents and the index's vocabulary.

Only `search.postgres_backend` reads or writes them, and only on PostgreSQL; on SQLite they exist
unused (the Whoosh backend keeps its index on disk). Rows are copies of `search.Document`s, never
joined with the domain tables, so both backends index exactly the same text.

The `search_vector` column is a `tsvector` on PostgreSQL (TEXT elsewhere). Its GIN index is created
by the hand-written migration 0003 on PostgreSQL only; it is declared here as an expression index
so that autogenerate, run on SQLite, leaves it out of the initial migration while the
models-match-migrations check still compares it on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Index, Text, text
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

SEARCH_VECTOR_INDEX = "ix_search_document_search_vector"


class SearchDocument(SQLModel, table=True):
    """One `search.Document` as the PostgreSQL backend indexes it."""

    __tablename__ = "search_document"
    __table_args__ = (
        Index(SEARCH_VECTOR_INDEX, text("search_vector"), postgresql_using="gin"),
    )

    kind: str = Field(primary_key=True, max_length=16)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str = Field(sa_column=Column(Text, nullable=False))
    tags: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    url: str = Field(max_length=500)
    version: str = Field(max_length=80)
    published_at: Optional[datetime] = Field(default=None, index=True)
    popularity: int = Field(default=0, index=True)
    category: Optional[str] = Field(default=None, max_length=60, index=True)
    price_fen: Optional[int] = Field(default=None, index=True)
    in_stock: Optional[bool] = None
    image_url: Optional[str] = Field(default=None, max_length=500)
    subtitle: str = Field(default="", max_length=200)
    search_vector: Optional[str] = Field(
        default=None, sa_column=Column(Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True)
    )


class SearchTerm(SQLModel, table=True):
    """A word of the index's vocabulary, for "did you mean": how many documents used it."""

    __tablename__ = "search_term"

    term: str = Field(primary_key=True, max_length=64)
    doc_count: int = Field(default=0)


class SearchTermVariant(SQLModel, table=True):
    """A term with one character deleted (or the term itself), pointing back at the term.

    Two words within one edit of each other share a variant (symmetric deletion), so candidate
    corrections are one indexed lookup instead of a scan of the vocabulary.
    """

    __tablename__ = "search_term_variant"

    variant: str = Field(primary_key=True, max_length=64)
    term: str = Field(primary_key=True, max_length=64)
