"""People: one User row per account; roles are flags because one person can be creator and merchant."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow


class User(SQLModel, table=True):
    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)  # stored lower-cased
    handle: str = Field(max_length=30)  # as the person typed it, for display
    handle_key: str = Field(max_length=30, unique=True, index=True)  # lower-cased, for uniqueness
    display_name: str = Field(max_length=60)
    bio: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    avatar_id: Optional[int] = Field(default=None, foreign_key="upload.id")
    password_hash: str = Field(max_length=255)
    # Bumped on sign-out and password change: a session cookie carries the epoch it was issued at,
    # so every copy of an older cookie stops working at once.
    session_epoch: int = Field(default=0)
    is_creator: bool = Field(default=False)
    is_merchant: bool = Field(default=False)
    is_admin: bool = Field(default=False)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CreatorApplication(SQLModel, table=True):
    __tablename__ = "creator_application"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    pitch: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending / approved / rejected
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: Optional[datetime] = None
    decided_by_id: Optional[int] = Field(default=None, foreign_key="user_account.id")


class PasswordResetToken(SQLModel, table=True):
    """A password-reset link: only the SHA-256 of its token is stored, so a leaked table resets nothing."""

    __tablename__ = "password_reset_token"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: Optional[datetime] = None  # set when used, and on every other open token of the user then
