"""Articles, their kept revisions, their tags, and which products they feature."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow

KINDS = ("review", "guide", "note")
DRAFT = "draft"
PUBLISHED = "published"


class Article(SQLModel, table=True):
    __tablename__ = "article"
    __table_args__ = (UniqueConstraint("author_id", "slug", name="uq_article_author_slug"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="user_account.id", index=True)
    slug: str = Field(max_length=100)
    kind: str = Field(default="review", max_length=16)
    title: str = Field(max_length=120)
    summary: str = Field(default="", max_length=300)
    lang: str = Field(default="zh-CN", max_length=10)
    body_md: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Rendered and sanitised at save time, with inert placeholders where product blocks go.
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # JSON list of the product blocks (slugs, captions, ratings, pros/cons) that fill the placeholders.
    blocks_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    cover_id: Optional[int] = Field(default=None, foreign_key="upload.id")
    status: str = Field(default=DRAFT, max_length=16, index=True)  # draft / published
    is_hidden: bool = Field(default=False, index=True)  # set by an admin; hides from everyone but the author
    has_commission: bool = Field(default=False)  # any commissionable product: the 广告 label shows
    revision: int = Field(default=0)  # number of the latest kept revision
    view_count: int = Field(default=0)
    published_at: Optional[datetime] = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ArticleRevision(SQLModel, table=True):
    __tablename__ = "article_revision"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_revision_article_number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    number: int
    title: str = Field(max_length=120)
    body_md: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ArticleTag(SQLModel, table=True):
    __tablename__ = "article_tag"

    article_id: int = Field(foreign_key="article.id", primary_key=True)
    tag: str = Field(max_length=30, primary_key=True, index=True)


class ArticleProduct(SQLModel, table=True):
    """A product featured in an article's blocks: feeds "featured in" on product pages and "my picks"."""

    __tablename__ = "article_product"

    article_id: int = Field(foreign_key="article.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True, index=True)
    position: int = Field(default=0)
