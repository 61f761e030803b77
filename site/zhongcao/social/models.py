"""Follows, likes, collections, comments with their reports, and notifications."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow


class Follow(SQLModel, table=True):
    __tablename__ = "follow"
    __table_args__ = (CheckConstraint("follower_id <> creator_id", name="ck_follow_not_self"),)

    follower_id: int = Field(foreign_key="user_account.id", primary_key=True)
    creator_id: int = Field(foreign_key="user_account.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ArticleLike(SQLModel, table=True):
    """A reader's 点赞 on an article: the primary key makes liking twice impossible."""

    __tablename__ = "article_like"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    article_id: int = Field(foreign_key="article.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ArticleCollect(SQLModel, table=True):
    """A reader's 收藏 (saved article), listed newest first on /me/collections."""

    __tablename__ = "article_collect"
    __table_args__ = (Index("ix_article_collect_user_created", "user_id", "created_at"),)

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    article_id: int = Field(foreign_key="article.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Comment(SQLModel, table=True):
    """A comment on an article. Replies point at their top-level comment (`parent_id`, one level only)
    and remember which comment they answered (`reply_to_id`, possibly another reply).

    Deleting only marks the row (`deleted_at`): a deleted comment still counts towards its author's
    rate limit, and its replies keep their place under a placeholder.
    """

    __tablename__ = "comment"
    __table_args__ = (
        Index("ix_comment_article_created", "article_id", "created_at"),
        Index("ix_comment_author_created", "author_id", "created_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id")
    author_id: int = Field(foreign_key="user_account.id")
    parent_id: Optional[int] = Field(default=None, foreign_key="comment.id", index=True)
    reply_to_id: Optional[int] = Field(default=None, foreign_key="comment.id")
    body_md: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))  # rendered and sanitised at save time
    is_hidden: bool = Field(default=False)  # by an admin, from the moderation queue
    created_at: datetime = Field(default_factory=utcnow)
    edited_at: Optional[datetime] = None
    deleted_at: Optional[datetime] = None
    # When an admin last decided on this comment's reports; only reports after it wait in the queue.
    moderated_at: Optional[datetime] = None


class CommentReport(SQLModel, table=True):
    """One reader's report of a comment; the primary key allows one per reader."""

    __tablename__ = "comment_report"

    comment_id: int = Field(foreign_key="comment.id", primary_key=True)
    reporter_id: int = Field(foreign_key="user_account.id", primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Notification(SQLModel, table=True):
    """Something a user should know about. Batched kinds (likes, collects, hides) carry a `group_key`:
    at most one unread row per (recipient, group_key) exists, and later events bump its count."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_recipient_updated", "recipient_id", "updated_at"),
        Index("ix_notification_recipient_unread", "recipient_id", "read_at"),
        Index(
            "uq_notification_unread_group",
            "recipient_id",
            "group_key",
            unique=True,
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="user_account.id")
    kind: str = Field(max_length=24)
    actor_id: Optional[int] = Field(default=None, foreign_key="user_account.id")  # the latest actor when batched
    article_id: Optional[int] = Field(default=None, foreign_key="article.id", index=True)
    comment_id: Optional[int] = Field(default=None, foreign_key="comment.id")
    product_id: Optional[int] = Field(default=None, foreign_key="product.id")
    group_key: Optional[str] = Field(default=None, max_length=60)
    count: int = Field(default=1)
    read_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)  # the latest event; lists sort by it
