"""PlainQuery: the few fixed reads every page view makes, run on the DB-API connection itself.

Kept apart from zhongcao.db so that modules db.py imports (the page cache's flush hooks) can use it.
"""
from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


class PlainQuery:
    """A fixed read that every page view makes, run on the DB-API connection itself.

    SQLAlchemy's execution and result layers cost several times such a query (a session with four
    one-row reads: 178 µs, the same reads on the driver's cursor: 28–66 µs, on SQLite). The statement,
    SQL text with `:name` parameters or a Core select with bindparam()s, is compiled once per dialect
    by SQLAlchemy; values are passed to the driver as they are (ints and strings: no type processing).

    Where it runs: inside the session's transaction when the session has one (a request sees its own
    writes, pending ones flushed first as an ORM query would); else, on SQLite, on this thread's own
    autocommit connection (what was committed last); else (PostgreSQL) on the session's connection,
    which it begins, as an ORM read would.
    """

    def __init__(self, statement: str | Executable) -> None:
        self._statement = text(statement) if isinstance(statement, str) else statement
        self._compiled: dict[str, _Compiled] = {}

    def first(self, session: Session, **params: object) -> tuple | None:
        """The first row as a tuple of column values, or None."""
        if session.autoflush:
            session.flush()  # as an ORM query would: pending changes first (nothing to do, and no SQL, when clean)
        bind = session.get_bind()
        sql, arguments = self._compile(bind.dialect).bind(params)
        if bind.dialect.name == "sqlite" and not session.in_transaction():
            return self._first_outside_any_session(bind, sql, arguments)
        return _fetch_first(bind, session.connection().connection.dbapi_connection, sql, arguments)

    def first_on(self, engine: Engine, **params: object) -> tuple | None:
        """The first row, read without any session (what was committed last)."""
        sql, arguments = self._compile(engine.dialect).bind(params)
        return self._first_outside_any_session(engine, sql, arguments)

    def scalar(self, session: Session, **params: object) -> object:
        row = self.first(session, **params)
        return row[0] if row is not None else None

    @staticmethod
    def _first_outside_any_session(engine: Engine, sql: str, arguments) -> tuple | None:
        if engine.dialect.name == "sqlite":
            return _fetch_first(engine, _sqlite_reader(engine), sql, arguments)
        connection = engine.raw_connection()
        try:
            return _fetch_first(engine, connection, sql, arguments)
        finally:
            connection.close()  # back to the pool, which rolls back whatever it began

    def _compile(self, dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            result = self._statement.compile(dialect=dialect)
            # Values written into the statement (a literal 0) become parameters with a value of their own.
            fixed = {name: bind.value for name, bind in result.binds.items() if not bind.required}
            positions = tuple(result.positiontup) if result.positional else None
            compiled = self._compiled[dialect.name] = _Compiled(result.string, positions, fixed)
        return compiled


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order for a positional driver (SQLite), else None
    fixed: dict[str, object]

    def bind(self, params: dict[str, object]) -> tuple[str, tuple | dict]:
        values = {**self.fixed, **params} if self.fixed else params
        if self.positions is not None:
            return self.sql, tuple(values[name] for name in self.positions)
        return self.sql, values


def _fetch_first(engine: Engine, dbapi_connection, sql: str, arguments) -> tuple | None:
    for listener in _plain_read_listeners.get(engine, ()):
        listener(sql)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, arguments)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return tuple(row) if row is not None else None


_readers = threading.local()
# How many times each engine was disposed: a reader opened before the last dispose is not used again.
_disposals: "weakref.WeakKeyDictionary[Engine, int]" = weakref.WeakKeyDictionary()


def _count_disposal(engine: Engine) -> None:
    _disposals[engine] += 1


def _sqlite_reader(engine: Engine):
    """This thread's own SQLite connection for reads outside any transaction, kept for the process.

    A pool check-out and check-in cost more than the one-row read itself. The connection comes from
    the engine (so it has the engine's settings: WAL, autocommit) and is then detached from its pool;
    in autocommit every read sees the last commit. A forked child, or any thread after the engine was
    disposed, opens a new one; the old one closes when dropped.
    """
    by_engine = getattr(_readers, "by_engine", None)
    if by_engine is None:
        by_engine = _readers.by_engine = weakref.WeakKeyDictionary()
    if engine not in _disposals:
        event.listen(engine, "engine_disposed", _count_disposal)
        _disposals[engine] = 0
    owner = (os.getpid(), _disposals[engine])
    entry = by_engine.get(engine)
    if entry is None or entry[0] != owner:
        pooled = engine.raw_connection()
        pooled.detach()  # ours now: never returned to the pool
        entry = by_engine[engine] = (owner, pooled)
    return entry[1]


# PlainQuery's reads bypass SQLAlchemy's events; whoever counts an engine's statements listens here too.
_plain_read_listeners: "weakref.WeakKeyDictionary[Engine, list]" = weakref.WeakKeyDictionary()


@contextmanager
def recording_statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent on `engine` inside the block, PlainQuery's reads included, in order
    (for query-count tests and diagnostics)."""
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    _plain_read_listeners.setdefault(engine, []).append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
        _plain_read_listeners[engine].remove(statements.append)
