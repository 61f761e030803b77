"""Follows between readers and creators."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow


class Follow(SQLModel, table=True):
    __tablename__ = "follow"
    __table_args__ = (CheckConstraint("follower_id <> creator_id", name="ck_follow_not_self"),)

    follower_id: int = Field(foreign_key="user_account.id", primary_key=True)
    creator_id: int = Field(foreign_key="user_account.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
