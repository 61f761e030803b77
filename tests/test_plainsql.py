"""PlainQuery: reads on the driver's cursor see what they should, and query counts still see them."""
from __future__ import annotations

import threading

from sqlalchemy import text

from zhongcao.db import atomic, new_session
from zhongcao.plainsql import PlainQuery, _sqlite_reader, recording_statements

HANDLE = PlainQuery("SELECT handle FROM user_account WHERE id = :user_id")
NOTHING = PlainQuery("SELECT handle FROM user_account WHERE id = :user_id AND handle = :handle")


def test_a_read_finds_the_row_or_none(session, make_user):
    user = make_user(handle="plainreader")

    assert HANDLE.first(session, user_id=user.id) == ("plainreader",)
    assert HANDLE.scalar(session, user_id=user.id) == "plainreader"
    assert NOTHING.first(session, user_id=user.id, handle="someone-else") is None
    assert HANDLE.first_on(session.get_bind(), user_id=user.id) == ("plainreader",)


def test_inside_a_transaction_it_sees_the_sessions_own_uncommitted_write(engine, make_user):
    user = make_user(handle="beforewrite")
    with new_session(engine) as writer:
        with atomic(writer):
            writer.exec(text("UPDATE user_account SET handle = 'afterwrite' WHERE id = :id").bindparams(id=user.id))
            seen_inside = HANDLE.scalar(writer, user_id=user.id)
            with new_session(engine) as other:
                seen_by_another_session = HANDLE.scalar(other, user_id=user.id)

    assert seen_inside == "afterwrite"
    assert seen_by_another_session == "beforewrite"  # nothing uncommitted leaks to other readers
    with new_session(engine) as later:
        assert HANDLE.scalar(later, user_id=user.id) == "afterwrite"


def test_a_read_outside_a_transaction_sees_the_last_commit(engine, make_user):
    user = make_user(handle="firstname")
    with new_session(engine) as reader:
        assert HANDLE.scalar(reader, user_id=user.id) == "firstname"
        with new_session(engine) as writer, atomic(writer):
            writer.exec(text("UPDATE user_account SET handle = 'secondname' WHERE id = :id").bindparams(id=user.id))
        if engine.dialect.name == "sqlite":
            # No transaction was begun for the read, so nothing holds an old snapshot.
            assert not reader.in_transaction()
            assert HANDLE.scalar(reader, user_id=user.id) == "secondname"
    assert HANDLE.first_on(engine, user_id=user.id) == ("secondname",)


def test_recording_statements_sees_plain_reads_and_orm_queries(session, engine, make_user):
    user = make_user(handle="counted")
    with recording_statements(engine) as statements:
        HANDLE.first(session, user_id=user.id)
        session.exec(text("SELECT 1")).all()

    queries = [sql for sql in statements if not sql.startswith("BEGIN")]
    assert len(queries) == 2, queries
    assert "FROM user_account" in queries[0]
    HANDLE.first(session, user_id=user.id)
    assert len([sql for sql in statements if not sql.startswith("BEGIN")]) == 2  # the recording has ended


def test_threads_and_a_disposed_engine_each_get_a_working_connection(engine, make_user):
    user = make_user(handle="threaded")
    seen: list[object] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(20):
                seen.append(HANDLE.first_on(engine, user_id=user.id))
        except BaseException as error:  # reported below; a thread's exception would vanish
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    before_dispose = _sqlite_reader(engine) if engine.dialect.name == "sqlite" else None
    engine.dispose()

    assert not errors
    assert seen == [("threaded",)] * 80
    assert HANDLE.first_on(engine, user_id=user.id) == ("threaded",)
    if before_dispose is not None:
        assert _sqlite_reader(engine) is not before_dispose  # a disposed engine's readers are not reused


def test_pending_changes_are_flushed_first_as_an_orm_query_would(engine, make_user):
    user = make_user(handle="pendingname")
    with new_session(engine) as session:
        with atomic(session):
            account = session.get(type(user), user.id)
            account.handle = "flushedname"  # pending in the session, not yet sent
            assert HANDLE.scalar(session, user_id=user.id) == "flushedname"


def test_a_core_select_with_values_of_its_own_runs_as_written(session, make_user):
    from sqlalchemy import bindparam, func, select

    from zhongcao.accounts.models import User

    user = make_user(handle="coreselect")
    # The literal 0 and the LIKE pattern become parameters with values of their own; user_id is the caller's.
    query = PlainQuery(
        select(func.coalesce(func.max(User.id), 0), func.count())
        .where(User.id == bindparam("user_id"), User.handle.like("core%"))
    )

    assert query.first(session, user_id=user.id) == (user.id, 1)
    assert query.first(session, user_id=-1) == (0, 0)
