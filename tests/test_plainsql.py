"""PlainQuery: reads on the driver's cursor see what they should, and query counts still see them."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from zhongcao.clock import utcnow
from zhongcao.commerce.cart import add_to_cart
from zhongcao.commerce.checkout import INSERT_ORDER_EVENT, place_order
from zhongcao.commerce.models import Address, Order, OrderEvent
from zhongcao.db import atomic, new_session
from zhongcao.plainsql import PlainQuery, PlainSavepoint, _sqlite_reader, plain_insert, recording_statements

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
    from sqlalchemy import func

    from zhongcao.accounts.models import User

    user = make_user(handle="coreselect")
    # The literal 0 and the LIKE pattern become parameters with values of their own; user_id is the caller's.
    query = PlainQuery(
        select(func.coalesce(func.max(User.id), 0), func.count())
        .where(User.id == bindparam("user_id"), User.handle.like("core%"))
    )

    assert query.first(session, user_id=user.id) == (user.id, 1)
    assert query.first(session, user_id=-1) == (0, 0)


# Writes: the checkout's, payment's and ledger's hot statements run on the driver's cursor too.

EVENTS = OrderEvent.__table__
NOTES_OF_ORDER = PlainQuery("SELECT note FROM order_event WHERE order_id = :order_id ORDER BY id")


def _an_order(session, make_product, make_user):
    """One real order to hang order events on (their foreign key)."""
    buyer = make_user(handle="plainbuyer")
    product = make_product(stock=5)
    address = Address(user_id=buyer.id, recipient="买家", mobile="13800138000", province="上海市", city="上海市",
                      district="徐汇区", detail="漕溪北路 1 号", is_default=True)
    session.add(address)
    session.commit()
    add_to_cart(session, owner_id=buyer.id, product_id=product.id)
    checkout = place_order(session, buyer_id=buyer.id, address_id=address.id, idempotency_key="plain-write-key")
    return session.exec(select(Order).where(Order.checkout_id == checkout.id)).one(), buyer


def test_writes_convert_values_as_sqlalchemy_would_and_rows_come_back_typed(session, make_product, make_user):
    order, buyer = _an_order(session, make_product, make_user)
    table = EVENTS
    insert = plain_insert(table, ("order_id", "from_status", "to_status", "actor_id", "note", "created_at"), returning=("id", "created_at"))
    written_at = datetime(2030, 1, 1, 10, 0, 0, tzinfo=timezone.utc)  # after the "placed" event; microsecond 0 on purpose
    events = PlainQuery(select(table.c.id, table.c.note, table.c.created_at).where(table.c.order_id == bindparam("order_id"),
                                                                                   table.c.created_at >= bindparam("since")))

    with atomic(session):
        returned = insert.write_returning(session, order_id=order.id, from_status="paid", to_status="shipped",
                                          actor_id=buyer.id, note="plain write", created_at=written_at)
        insert.write_many(session, [
            dict(order_id=order.id, from_status="shipped", to_status="received", actor_id=buyer.id, note=f"many {n}",
                 created_at=written_at + timedelta(seconds=n))
            for n in (1, 2)
        ])

    assert returned.created_at == written_at and returned.id > 0
    rows = events.rows(session, order_id=order.id, since=written_at)
    assert [(row.note, row.created_at) for row in rows] == [
        ("plain write", written_at), ("many 1", written_at + timedelta(seconds=1)), ("many 2", written_at + timedelta(seconds=2)),
    ]
    # The ORM reads back exactly what was written, and compares it in SQL the same way.
    orm_event = session.get(OrderEvent, returned.id)
    assert orm_event.created_at == written_at
    assert events.rows(session, order_id=order.id, since=written_at + timedelta(seconds=2))[0].note == "many 2"


def test_a_write_counts_the_rows_it_matched_and_is_recorded(session, engine, make_product, make_user):
    order, _buyer = _an_order(session, make_product, make_user)
    table = EVENTS
    rename = PlainQuery(table.update().where(table.c.order_id == bindparam("order_id")).values(note=bindparam("new_note")))

    with recording_statements(engine) as statements:
        with atomic(session):
            matched = rename.write(session, order_id=order.id, new_note="renamed")
            missed = rename.write(session, order_id=-1, new_note="nobody")

    assert (matched, missed) == (1, 0)  # the order's one "placed" event
    assert sum("UPDATE order_event" in sql for sql in statements) == 2


def test_a_refused_write_raises_sqlalchemys_error_and_rolls_back_cleanly(session, make_product, make_user):
    order, buyer = _an_order(session, make_product, make_user)
    insert = INSERT_ORDER_EVENT
    with pytest.raises(IntegrityError):
        with atomic(session):
            insert.write(session, order_id=order.id, from_status=None, to_status="paid", actor_id=buyer.id,
                         note="kept?", created_at=utcnow())
            insert.write(session, order_id=order.id, from_status=None, to_status=None, actor_id=buyer.id,
                         note="refused: no status", created_at=utcnow())

    assert HANDLE.scalar(session, user_id=buyer.id) == "plainbuyer"  # the session works on afterwards
    notes = NOTES_OF_ORDER.rows(session, order_id=order.id)
    assert [row[0] for row in notes] == ["下单 · order placed"]  # the first insert was rolled back with the second


def test_expanding_parameters_are_refused_when_compiled():
    table = EVENTS
    query = PlainQuery(table.delete().where(table.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError):
        query._compile(sqlite.dialect())


def test_a_savepoint_undoes_only_its_own_block_and_the_transaction_commits(session, make_product, make_user):
    order, buyer = _an_order(session, make_product, make_user)
    insert = INSERT_ORDER_EVENT
    savepoint = PlainSavepoint("zc_test_block")

    def event(note: str) -> dict:
        return dict(order_id=order.id, from_status="paid", to_status="shipped", actor_id=buyer.id, note=note, created_at=utcnow())

    with atomic(session):
        insert.write(session, **event("before the savepoint"))
        with pytest.raises(IntegrityError):
            with savepoint.around(session):
                insert.write(session, **event("inside, undone"))
                insert.write(session, **{**event("refused"), "to_status": None})
        with savepoint.around(session):
            insert.write(session, **event("inside, kept"))
        insert.write(session, **event("after the savepoint"))

    notes = NOTES_OF_ORDER.rows(session, order_id=order.id)
    assert [row[0] for row in notes] == ["下单 · order placed", "before the savepoint", "inside, kept", "after the savepoint"]
