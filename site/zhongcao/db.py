"""Engine, sessions and the one transaction helper, `atomic`.

Every models.py is imported here so that SQLModel.metadata (and Alembic's autogenerate) is complete.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, create_engine

from zhongcao.accounts import models as _accounts_models  # noqa: F401
from zhongcao.articles import models as _articles_models  # noqa: F401
from zhongcao.attribution import models as _attribution_models  # noqa: F401
from zhongcao.catalog import models as _catalog_models  # noqa: F401
from zhongcao.commerce import models as _commerce_models  # noqa: F401
from zhongcao.ledger import models as _ledger_models  # noqa: F401
from zhongcao.media import models as _media_models  # noqa: F401
from zhongcao.pagecache import models as _pagecache_models  # noqa: F401
from zhongcao.pagecache import services as _pagecache_listeners  # noqa: F401  (registers the flush hooks)
from zhongcao.search import models as _search_models  # noqa: F401
from zhongcao.social import models as _social_models  # noqa: F401

metadata = SQLModel.metadata
T = TypeVar("T")
_DEPTH_KEY = "zhongcao_atomic_depth"


BUSY_TIMEOUT_SECONDS = 15


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})
        _configure_sqlite(engine)
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _writer_queues[engine] = _WriterQueue(f"{database}-writers.lock")
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class _WriterQueue:
    """Writers to one SQLite file wait their turn here, on an flock of a file beside it, before BEGIN IMMEDIATE.

    The kernel wakes the next writer the moment a turn ends, where SQLite's busy handler polls and
    sleeps: with two workers writing on most checkout requests, waiting there left each worker idle a
    third of the time. A turn ends when the transaction commits, before the commit's hooks run (they
    may update the search index, or write in a session of their own), or when it rolls back. Each
    process and thread has its own descriptor, so turns exclude both; a thread that already has the
    turn takes it again freely. SQLite's own lock still decides who writes: this only orders our writers.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def take(self) -> None:
        local = self._local
        held = getattr(local, "held", 0)
        if held == 0:
            lock = getattr(local, "lock", None)
            if lock is None or lock.pid != os.getpid():  # a descriptor from before a fork is shared: open our own
                lock = local.lock = _LockFile(self.path)
            fcntl.flock(lock.fd, fcntl.LOCK_EX)
        local.held = held + 1

    def give_back(self) -> None:
        local = self._local
        local.held -= 1
        if local.held == 0:
            fcntl.flock(local.lock.fd, fcntl.LOCK_UN)


class _LockFile:
    """One thread's descriptor of a writer queue's lock file, closed when the thread or the queue goes."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.pid = os.getpid()

    def __del__(self) -> None:
        os.close(self.fd)


_writer_queues: "weakref.WeakKeyDictionary[Engine, _WriterQueue]" = weakref.WeakKeyDictionary()
_TURN_KEY = "zhongcao_writer_turn"


@event.listens_for(OrmSession, "after_commit", insert=True)  # first: before any hook that indexes or writes
def _end_turn_on_commit(session: OrmSession) -> None:
    if not session.in_nested_transaction():  # a savepoint's release is not the commit
        _end_turn(session)


def _end_turn(session: OrmSession) -> None:
    queue = session.info.pop(_TURN_KEY, None)
    if queue is not None:
        queue.give_back()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # pysqlite's own transaction handling issues BEGIN lazily and never BEGIN IMMEDIATE;
        # turning it off lets us emit BEGIN ourselves (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" instead of waiting on the busy timeout.
        if connection.get_execution_options().get("sqlite_immediate"):
            _begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN")


def _begin_immediate(connection) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in steps of at most a millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, so a writer that
    finds the lock held (by one that needs about a millisecond) idles for 8 ms or more: with two
    workers writing on most checkout requests, each sat idle a third of the time.
    """
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        pause = 0.00005
        while time.monotonic() < deadline:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorname", "") != "SQLITE_BUSY":
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # one last try, raising SQLAlchemy's error as before
    finally:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()


def adopt(session: Session, instance: T) -> T:
    """The session's loaded instance of a row just written with a plain INSERT, without any SQL.

    `instance` carries the row's primary key and values. Plain statements skip the session's unit of
    work, which costs several times the INSERT on the hottest writes; callers still get an object.
    A copy left in the session by a rolled-back attempt (SQLite reuses ids) is overwritten, not duplicated.
    """
    make_transient_to_detached(instance)
    return session.merge(instance, load=False)


def expire_loaded(session: Session, model: type, row_id: object, *attributes: str) -> None:
    """After a plain UPDATE of one row: the session's copy of it, if it holds one, reloads the changed
    columns (all of them when none are named) instead of showing the old values."""
    loaded = session.identity_map.get(session.identity_key(model, row_id))
    if loaded is not None:
        session.expire(loaded, list(attributes) or None)


def new_session(engine: Engine) -> Session:
    # Objects stay usable after commit: views render what a domain function returned.
    return Session(engine, expire_on_commit=False)


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run the block in one transaction: commit at the end, roll back on any exception.

    Nested blocks join the outermost one, so a domain function may call another's public function.
    On SQLite the outermost block waits for its turn among our writers (_WriterQueue), then starts
    with BEGIN IMMEDIATE (after ending any read-only transaction the session had open), so concurrent
    writers queue instead of failing.
    """
    depth = session.info.get(_DEPTH_KEY, 0)
    if depth > 0:
        session.info[_DEPTH_KEY] = depth + 1
        try:
            yield session
        finally:
            session.info[_DEPTH_KEY] = depth
        return
    queue = _writer_queues.get(session.get_bind())
    if queue is not None:
        queue.take()
        session.info[_TURN_KEY] = queue
    session.info[_DEPTH_KEY] = 1
    try:
        _begin_for_writing(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_DEPTH_KEY] = 0
        _end_turn(session)  # when the commit did not end it already


def _begin_for_writing(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if session.in_transaction():
        # Whatever was read so far was read-only (writes happen only inside atomic), so ending it
        # loses nothing. It ends on the same connection, which then takes the write lock, and the
        # session's transaction carries on: a Session.commit here (events, a pool check-in and a
        # check-out) cost as much as many writes that follow.
        connection = session.connection()
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.in_transaction:
            dbapi_connection.execute("COMMIT")
        _begin_immediate(connection)
        return
    session.connection(execution_options={"sqlite_immediate": True})
