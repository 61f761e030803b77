"""PlainQuery: the few fixed reads every page view makes, run on the DB-API connection itself.

Kept apart from zhongcao.db so that modules db.py imports (the page cache's flush hooks) can use it.
"""
from __future__ import annotations

import os
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


class PlainQuery:
    """A fixed statement on a hot path, run on the DB-API connection itself.

    SQLAlchemy's execution and result layers cost several times such a statement (a session with four
    one-row reads: 178 µs, the same reads on the driver's cursor: 28–66 µs, on SQLite; a Core UPDATE
    inside a transaction ~40 µs against ~5 µs). The statement, SQL text with `:name` parameters or a
    Core select/insert/update/delete with bindparam()s, is compiled once per dialect by SQLAlchemy.

    Reads (`first`, `rows`) run inside the session's transaction when the session has one (a request
    sees its own writes, pending ones flushed first as an ORM query would); else, on SQLite, on this
    thread's own autocommit connection (what was committed last); else (PostgreSQL) on the session's
    connection, which it begins, as an ORM read would. Writes (`write`, `write_many`, `write_returning`)
    run in the session's transaction (begun if need be; callers write inside `atomic`), as Core
    statements on `session.connection()` do: nothing is flushed for them, and the ORM's hooks do not see them.

    Values: `first` passes parameters to the driver as they are and returns the driver's tuple (ints and
    strings). `rows` and the writes convert like SQLAlchemy: bind values through their column types
    (datetimes on SQLite), and returned columns back (`rows` and `write_returning` give named tuples).
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

    def rows(self, session: Session, **params: object) -> list[tuple]:
        """Every row, as named tuples of converted values (where `first` would read)."""
        if session.autoflush:
            session.flush()
        bind = session.get_bind()
        compiled = self._compile(bind.dialect)
        sql, arguments = compiled.bind(params, convert=True)
        if bind.dialect.name == "sqlite" and not session.in_transaction():
            dbapi_connection = _sqlite_reader(bind)
        else:
            dbapi_connection = _transaction_connection(session)
        cursor = _run(bind, dbapi_connection, sql, arguments)
        try:
            return [compiled.make_row(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def write(self, session: Session, **params: object) -> int:
        """Run an INSERT, UPDATE or DELETE in the session's transaction; returns the rows it matched."""
        bind, compiled, dbapi_connection = self._for_writing(session)
        sql, arguments = compiled.bind(params, convert=True)
        cursor = _run(bind, dbapi_connection, sql, arguments)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def write_many(self, session: Session, rows: Sequence[Mapping[str, object]]) -> None:
        """Run the statement once per parameter set in `rows`, in the session's transaction (executemany)."""
        if not rows:
            return
        bind, compiled, dbapi_connection = self._for_writing(session)
        arguments = [compiled.bind(row, convert=True)[1] for row in rows]
        _run(bind, dbapi_connection, compiled.sql, arguments, many=True).close()

    def write_returning(self, session: Session, **params: object) -> tuple | None:
        """Run a write with RETURNING in the session's transaction; the first row returned (named, converted) or None."""
        bind, compiled, dbapi_connection = self._for_writing(session)
        sql, arguments = compiled.bind(params, convert=True)
        cursor = _run(bind, dbapi_connection, sql, arguments)
        try:
            row = cursor.fetchone()
            cursor.fetchall()  # the driver finishes the statement only once every row is read
        finally:
            cursor.close()
        return compiled.make_row(row) if row is not None else None

    def _for_writing(self, session: Session):
        bind = session.get_bind()
        return bind, self._compile(bind.dialect), _transaction_connection(session)

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
            compiled = self._compiled[dialect.name] = _Compiled.of(self._statement, dialect)
        return compiled


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order for a positional driver (SQLite), else None
    fixed: dict[str, object]  # values written into the statement (a literal 0), by parameter name
    bind_processors: dict[str, Callable]  # parameter name: its type's conversion for this driver
    result_processors: tuple[Callable | None, ...] | None  # per returned column (None: no column types known)
    row_type: type | None  # a named tuple of the returned columns

    @classmethod
    def of(cls, statement: Executable, dialect) -> _Compiled:
        result = statement.compile(dialect=dialect)
        if "POSTCOMPILE" in result.string:
            raise ValueError("PlainQuery cannot run expanding parameters (IN lists); bind each value instead")
        names = result.bind_names  # each parameter's name in the SQL
        fixed = {name: bind.value for bind, name in names.items() if not bind.required}
        bind_processors = {}
        for bind, name in names.items():
            processor = bind.type._cached_bind_processor(dialect)
            if processor is not None:
                bind_processors[name] = processor
        positions = tuple(result.positiontup) if result.positional else None
        columns = list(getattr(statement, "exported_columns", ()) or ())
        if columns:
            result_processors = tuple(column.type._cached_result_processor(dialect, None) for column in columns)
            row_type = namedtuple("PlainRow", [column.key for column in columns], rename=True)
        else:
            result_processors, row_type = None, None
        return cls(result.string, positions, fixed, bind_processors, result_processors, row_type)

    def bind(self, params: Mapping[str, object], convert: bool = False) -> tuple[str, tuple | dict]:
        values = {**self.fixed, **params} if self.fixed else params
        if convert and self.bind_processors:
            processors = self.bind_processors
            values = {name: (processors[name](value) if name in processors and value is not None else value)
                      for name, value in values.items()}
        if self.positions is not None:
            return self.sql, tuple(values[name] for name in self.positions)
        return self.sql, values

    def make_row(self, row: Sequence[object]) -> tuple:
        if self.row_type is None:
            return tuple(row)
        return self.row_type._make(
            value if processor is None or value is None else processor(value)
            for processor, value in zip(self.result_processors, row)
        )


class PlainSavepoint:
    """A savepoint on the driver's connection of the session's transaction, around a block of PlainQuery
    writes: `with SAVEPOINT.around(session): …`. An exception in the block undoes only the block's
    writes, then goes on up. SQLAlchemy's own savepoints (Session.begin_nested, Connection.begin_nested)
    cost more than the statements they usually guard; nothing ORM may be written inside this one."""

    def __init__(self, name: str) -> None:
        if not name.isidentifier():
            raise ValueError(f"not a savepoint name: {name!r}")
        self.name = name

    @contextmanager
    def around(self, session: Session) -> Iterator[None]:
        engine, dbapi_connection = session.get_bind(), _transaction_connection(session)
        _run(engine, dbapi_connection, f"SAVEPOINT {self.name}", ()).close()
        try:
            yield
        except BaseException:
            _run(engine, dbapi_connection, f"ROLLBACK TO SAVEPOINT {self.name}", ()).close()
            _run(engine, dbapi_connection, f"RELEASE SAVEPOINT {self.name}", ()).close()
            raise
        _run(engine, dbapi_connection, f"RELEASE SAVEPOINT {self.name}", ()).close()


def plain_insert(table: Table, columns: Sequence[str], returning: Sequence[str] = ()) -> PlainQuery:
    """A PlainQuery inserting one row of `columns` (parameters of the same names) into `table`,
    returning `returning` columns (write_returning) if any."""
    statement = table.insert().values({name: bindparam(name, type_=table.c[name].type) for name in columns})
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    return PlainQuery(statement)


def _transaction_connection(session: Session):
    """The DB-API connection of the session's transaction (begun if need be), found once per transaction:
    Session.connection() costs more than a plain statement on it."""
    transaction = session.get_transaction()
    cached = session.info.get(_CONNECTION_KEY)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]
    dbapi_connection = session.connection().connection.dbapi_connection
    session.info[_CONNECTION_KEY] = (session.get_transaction(), dbapi_connection)
    return dbapi_connection


_CONNECTION_KEY = "zhongcao_plain_connection"


def _run(engine: Engine, dbapi_connection, sql: str, arguments, many: bool = False):
    for listener in _plain_listeners.get(engine, ()):
        listener(sql)
    cursor = dbapi_connection.cursor()
    try:
        (cursor.executemany if many else cursor.execute)(sql, arguments)
    except engine.dialect.loaded_dbapi.Error as error:
        cursor.close()
        # As SQLAlchemy would raise it (IntegrityError, OperationalError…), so callers catch one kind.
        raise DBAPIError.instance(sql, arguments, error, engine.dialect.loaded_dbapi.Error,
                                  dialect=engine.dialect) from error
    except BaseException:
        cursor.close()
        raise
    return cursor


def _fetch_first(engine: Engine, dbapi_connection, sql: str, arguments) -> tuple | None:
    cursor = _run(engine, dbapi_connection, sql, arguments)
    try:
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


# PlainQuery's statements bypass SQLAlchemy's events; whoever counts an engine's statements listens here too.
_plain_listeners: "weakref.WeakKeyDictionary[Engine, list]" = weakref.WeakKeyDictionary()


@contextmanager
def recording_statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent on `engine` inside the block, PlainQuery's included, in order
    (for query-count tests and diagnostics)."""
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    _plain_listeners.setdefault(engine, []).append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
        _plain_listeners[engine].remove(statements.append)
