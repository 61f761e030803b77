"""Engine, sessions and the one transaction helper, `atomic`.

Every models.py is imported here so that SQLModel.metadata (and Alembic's autogenerate) is complete.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
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
_DEPTH_KEY = "zhongcao_atomic_depth"


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # pysqlite's own transaction handling issues BEGIN lazily and never BEGIN IMMEDIATE;
        # turning it off lets us emit BEGIN ourselves (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" instead of waiting on the busy timeout.
        if connection.get_execution_options().get("sqlite_immediate"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def new_session(engine: Engine) -> Session:
    # Objects stay usable after commit: views render what a domain function returned.
    return Session(engine, expire_on_commit=False)


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run the block in one transaction: commit at the end, roll back on any exception.

    Nested blocks join the outermost one, so a domain function may call another's public function.
    On SQLite the outermost block starts with BEGIN IMMEDIATE (after ending any read-only
    transaction the session had open), so concurrent writers queue instead of failing.
    """
    depth = session.info.get(_DEPTH_KEY, 0)
    if depth == 0:
        _begin_for_writing(session)
    session.info[_DEPTH_KEY] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH_KEY] = depth


def _begin_for_writing(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if session.in_transaction():
        # Whatever was read so far was read-only (writes happen only inside atomic), so ending it
        # loses nothing; pending objects added outside atomic would be flushed by this commit.
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
