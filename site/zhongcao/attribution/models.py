"""Share links and their counted clicks, and per-day article view counters with their short-lived dedup marks.

No raw client address is ever stored: visitors are an HMAC of address, user agent and the day
(see visitors.py), so the same person cannot be followed from one day to the next.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow

TARGET_ARTICLE = "article"
TARGET_PRODUCT = "product"
TARGET_KINDS = (TARGET_ARTICLE, TARGET_PRODUCT)


class ShareLink(SQLModel, table=True):
    """One user's personal link to one article or product: `/s/<code>`, the same code every time."""

    __tablename__ = "share_link"
    __table_args__ = (
        UniqueConstraint("sharer_id", "target_kind", "target_id", name="uq_share_link_sharer_target"),
        CheckConstraint("target_kind IN ('article', 'product')", name="ck_share_link_target_kind"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    sharer_id: int = Field(foreign_key="user_account.id", index=True)
    # The target is a kind plus an id (an article or a product), so it carries no foreign key;
    # the redirect looks the row up at click time and never trusts anything from the request.
    target_kind: str = Field(max_length=16)
    target_id: int
    created_at: datetime = Field(default_factory=utcnow)


class ShareClick(SQLModel, table=True):
    """A counted click: a human (not a known bot), not the sharer, not a repeat within a minute."""

    __tablename__ = "share_click"
    __table_args__ = (Index("ix_share_click_link_visitor_time", "link_id", "visitor_hash", "clicked_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="share_link.id")
    visitor_hash: str = Field(max_length=64)
    clicked_at: datetime = Field(default_factory=utcnow, index=True)


class ArticleDailyViews(SQLModel, table=True):
    """Counted views of one article on one UTC day: what trending decays over."""

    __tablename__ = "article_daily_views"

    article_id: int = Field(foreign_key="article.id", primary_key=True)
    day: date = Field(primary_key=True, index=True)
    views: int = Field(default=0)


class ArticleViewMark(SQLModel, table=True):
    """That a visitor's view of an article was counted recently; marks older than the dedup window are
    deleted as new views of the same article arrive, so the table holds about one hour of visitors."""

    __tablename__ = "article_view_mark"

    article_id: int = Field(foreign_key="article.id", primary_key=True)
    visitor_hash: str = Field(max_length=64, primary_key=True)
    seen_at: datetime
