"""Cache invalidation that cannot be forgotten: any flush touching public content bumps one counter,
and so does any INSERT, UPDATE or DELETE of a public table run through the session.

Pages served to anonymous readers are cached per process, keyed by (path, content version). Every
worker reads the version with one primary-key query per request, so a change made through any
worker (or the CLI) invalidates every worker's copies at once. The bump happens inside the same
transaction as the change, so a rolled-back write invalidates nothing and a committed one cannot
be missed.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Engine, event, insert, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from zhongcao.pagecache.models import ContentVersion
from zhongcao.plainsql import PlainQuery

# Models whose rows appear on public pages. Extended by name so this module imports no other domain.
PUBLIC_TABLES = frozenset(
    {
        "article",
        "article_product",
        "article_tag",
        "product",
        "product_image",
        "shop",
        "category",
        "user_account",
        "follow",
        "upload",
        "article_like",
        "article_collect",
        "comment",
        "comment_report",
    }
)


# Columns pages show late by design (only pages cached for a short while show them: the home page's
# view counts), so an UPDATE of nothing else bumps nothing. A bump on every counted view would empty
# every worker's caches each time a new reader opens an article.
QUIET_COLUMNS = {"article": frozenset({"view_count"})}

# Plain SQL on the driver's cursor: this runs on every cached page view.
_VERSION = PlainQuery("SELECT value FROM content_version WHERE id = 1")


def current_version(session: Session) -> int:
    """The content version as `session`'s transaction sees it (0 before the first change)."""
    value = _VERSION.scalar(session)
    return int(value) if value is not None else 0


def latest_version(engine: Engine) -> int:
    """The committed content version, read on a pooled connection without opening a session.

    For a request whose only database read is this one (an anonymous reader's cached page): a session
    costs more to open, begin and close than the query itself. Read it before the data a page is
    built from, never after: a page is then at worst stored under an older version than its data,
    which only means one more rendering.
    """
    # The DB-API connection itself: a SQLAlchemy Connection's begin / rollback cost 8x the query here
    # (118 µs against 15 µs on SQLite).
    row = _VERSION.first_on(engine)
    return int(row[0]) if row is not None else 0


def _touches_public_content(session: OrmSession) -> bool:
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__tablename__", None)
        if table in PUBLIC_TABLES and (instance not in session.dirty or session.is_modified(instance)):
            return True
    return False


@event.listens_for(OrmSession, "before_flush")
def _bump_on_public_change(session: OrmSession, _context, _instances) -> None:
    if _touches_public_content(session):
        session.info["zhongcao_bump_version"] = True


@event.listens_for(OrmSession, "after_flush")
def _apply_bump(session: OrmSession, _context) -> None:
    if session.info.pop("zhongcao_bump_version", False):
        _bump(session)


@event.listens_for(OrmSession, "do_orm_execute")
def _bump_on_public_statement(state) -> None:
    """INSERT, UPDATE and DELETE statements run through the session bypass the flush: a like or a
    follow (INSERT … ON CONFLICT), an unlike, a sale of a product's last units, stock given back.
    They bump the version as they run, in their own transaction.

    Statements run on the session's connection instead are not seen; the one that writes a public
    table, checkout's sale that leaves stock (commerce.checkout._TAKE_STOCK_LEAVING_SOME), changes
    nothing a cached page shows: product cards show sold out or not, never the count.
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name not in PUBLIC_TABLES:
        return
    if state.is_update and _sets_only(state.statement, QUIET_COLUMNS.get(name, frozenset())):
        return
    _bump(state.session)


def _sets_only(statement, columns: frozenset[str]) -> bool:
    values = getattr(statement, "_values", None) or {}
    return bool(values) and all(getattr(column, "key", str(column)) in columns for column in values)


def _bump(session: OrmSession) -> None:
    connection = session.connection()
    bumped = connection.execute(update(ContentVersion).where(ContentVersion.id == 1).values(value=ContentVersion.value + 1))
    if bumped.rowcount == 0:
        connection.execute(insert(ContentVersion).values(id=1, value=1))


class PageCache:
    """A small per-process LRU keyed by (key, content version): rendered pages, or page data."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[object, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: object, version: int) -> Any:
        with self._lock:
            body = self._entries.get((path, version))
            if body is not None:
                self._entries.move_to_end((path, version))
            return body

    def put(self, path: object, version: int, body: Any) -> None:
        with self._lock:
            self._entries[(path, version)] = body
            self._entries.move_to_end((path, version))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
