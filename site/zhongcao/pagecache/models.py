"""One row counting changes to anything a public page shows; cached pages are keyed by it."""
from __future__ import annotations

from sqlmodel import Field, SQLModel


class ContentVersion(SQLModel, table=True):
    __tablename__ = "content_version"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0)
