"""Images people uploaded (or that we fetched once at save time): stored under DATA_DIR, never in the code tree."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow


class Upload(SQLModel, table=True):
    __tablename__ = "upload"

    id: Optional[int] = Field(default=None, primary_key=True)
    # No foreign key: user_account.avatar_id already points here, and a cycle would need ALTERs on SQLite.
    owner_id: Optional[int] = Field(default=None, index=True)
    # Generated name (random hex + extension chosen from the decoded content): never the client's name.
    filename: str = Field(max_length=80, unique=True)
    content_type: str = Field(max_length=40)
    width: int
    height: int
    byte_size: int
    purpose: str = Field(default="article", max_length=16)  # avatar / article / cover / product
    source_url: Optional[str] = Field(default=None, max_length=2000)  # set when fetched from a URL
    created_at: datetime = Field(default_factory=utcnow)
