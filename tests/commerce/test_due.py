"""Time-based transitions: expiry, auto-receive, completion. Idempotent, ordered, exactly-once commissions."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func
from sqlmodel import select

from zhongcao.catalog.models import Product, Shop
from zhongcao.commerce import due, orders
from zhongcao.commerce.models import CANCELLED, COMPLETED, PAID, RECEIVED, SHIPPED, Order, OrderEvent
from zhongcao.db import new_session
from zhongcao.ledger import ledger
from zhongcao.ledger.models import COMMISSION_CONFIRMED, COMMISSION_PENDING, LedgerEntry

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def shipped_order(session, make_order, *, at=T0, **kwargs):
    order = make_order(now=at, **kwargs)
    owner = session.get(Shop, order.shop_id).owner_id
    return orders.ship_order(session, order_id=order.id, actor_id=owner, carrier="韵达快递", tracking_number="YD20261102", now=at)


def status_of(session, order):
    session.expire_all()
    return session.get(Order, order.id)


def counts(session):
    return (session.exec(select(func.count()).select_from(OrderEvent)).one(),
            session.exec(select(func.count()).select_from(LedgerEntry)).one())


def test_shipped_orders_are_received_automatically_after_the_configured_days(session, make_order):
    order = shipped_order(session, make_order)

    early = due.run_due(session, now=T0 + 10 * DAY - timedelta(seconds=1))
    on_time = due.run_due(session, now=T0 + 10 * DAY + timedelta(hours=5))

    assert early.received == [] and not early.changed
    assert on_time.received == [order.number]
    received = status_of(session, order)
    assert received.status == RECEIVED
    # Received at the due time, not when run-due happened to run: the window is never lengthened.
    assert received.received_at == T0 + 10 * DAY
    assert received.return_window_ends_at == T0 + 17 * DAY
    last = session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc())).first()
    assert (last.from_status, last.to_status, last.actor_id) == (SHIPPED, RECEIVED, None)


def test_the_auto_receive_days_setting_is_honoured(session, make_order):
    order = shipped_order(session, make_order)

    report = due.run_due(session, now=T0 + 3 * DAY, auto_receive_days=3, return_window_days=2)

    assert report.received == [order.number]
    assert status_of(session, order).return_window_ends_at == T0 + 5 * DAY


def test_one_late_run_takes_a_shipped_order_all_the_way_to_completed(session, make_order, make_user, make_product):
    creator = make_user(is_creator=True)
    order = shipped_order(session, make_order, items=[(make_product(price_fen=12345, commission_bp=1500), 2)],
                          beneficiary=creator)

    report = due.run_due(session, now=T0 + 40 * DAY)

    assert (report.received, report.completed) == ([order.number], [order.number])
    assert status_of(session, order).status == COMPLETED
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 24690 * 1500 // 10000
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 0
    assert ledger.check_ledger(session) == []


def test_orders_complete_only_when_their_window_has_closed(session, make_order):
    order = shipped_order(session, make_order)
    orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0 + DAY)

    before = due.run_due(session, now=T0 + 8 * DAY - timedelta(seconds=1))
    at_close = due.run_due(session, now=T0 + 8 * DAY)

    assert before.completed == []
    assert at_close.completed == [order.number]
    assert status_of(session, order).completed_at == T0 + 8 * DAY


def test_running_twice_with_the_same_now_changes_nothing_the_second_time(session, make_order, make_user, make_product):
    creator = make_user(is_creator=True)
    to_receive = shipped_order(session, make_order, at=T0 + 5 * DAY)
    to_complete = shipped_order(session, make_order, beneficiary=creator)
    orders.confirm_receipt(session, order_id=to_complete.id, buyer_id=to_complete.buyer_id, now=T0)
    unpaid = make_order(now=T0 + 14 * DAY, paid=False)
    now = T0 + 15 * DAY + timedelta(minutes=31)

    first = due.run_due(session, now=now)
    after_first = counts(session)
    second = due.run_due(session, now=now)

    assert (first.expired_checkouts, first.received, first.completed) == (1, [to_receive.number], [to_complete.number])
    assert (second.expired_checkouts, second.received, second.completed, second.changed) == (0, [], [], False)
    assert counts(session) == after_first
    assert status_of(session, unpaid).status == CANCELLED
    confirmations = session.exec(select(func.count(func.distinct(LedgerEntry.txn_id))).where(
        LedgerEntry.order_id == to_complete.id, LedgerEntry.kind == ledger.KIND_CONFIRM)).one()
    assert confirmations == 1


def test_unpaid_checkouts_expire_and_give_their_stock_back(session, make_order, make_product):
    product = make_product(stock=4)
    order = make_order(now=T0, items=[(product, 3)], paid=False)

    still_open = due.run_due(session, now=T0 + timedelta(minutes=29))
    expired = due.run_due(session, now=T0 + timedelta(minutes=30))

    assert still_open.expired_checkouts == 0
    assert expired.expired_checkouts == 1
    assert status_of(session, order).status == CANCELLED
    assert session.get(Product, product.id).stock == 4


def test_apply_due_touches_only_the_orders_in_scope(session, make_order):
    mine = shipped_order(session, make_order)
    other = shipped_order(session, make_order)

    report = due.apply_due(session, now=T0 + 11 * DAY, order_number=mine.number)

    assert report.received == [mine.number]
    assert status_of(session, mine).status == RECEIVED
    assert status_of(session, other).status == SHIPPED
    assert due.apply_due(session, now=T0 + 11 * DAY, buyer_id=other.buyer_id).received == [other.number]


def test_concurrent_runs_complete_and_confirm_each_order_once(app, engine, session, make_order, make_user):
    creator = make_user(is_creator=True)
    numbers = []
    for _ in range(3):
        order = shipped_order(session, make_order, beneficiary=creator)
        numbers.append(order.number)
    now = T0 + 30 * DAY
    reports, errors = [], []

    def run():
        try:
            with new_session(engine) as own:
                reports.append(due.run_due(own, now=now))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(n for r in reports for n in r.completed) == sorted(numbers)
    assert all(not r.failed for r in reports)
    confirmations = session.exec(select(func.count(func.distinct(LedgerEntry.txn_id))).where(
        LedgerEntry.kind == ledger.KIND_CONFIRM)).one()
    assert confirmations == 3
    assert ledger.check_ledger(session) == []


def test_the_run_due_command_prints_what_it_did(app, session, make_order):
    order = shipped_order(session, make_order)
    runner = app.test_cli_runner()
    when = (T0 + 11 * DAY).isoformat()

    first = runner.invoke(args=["zhongcao", "run-due", "--now", when])
    second = runner.invoke(args=["zhongcao", "run-due", "--now", when])

    assert first.exit_code == 0, first.output
    assert f"auto-received orders: 1  {order.number}" in first.output
    assert "completed orders: 0" in first.output
    assert "auto-received orders: 0" in second.output
    assert status_of(session, order).status == RECEIVED


def test_the_run_due_command_refuses_a_malformed_time(app):
    result = app.test_cli_runner().invoke(args=["zhongcao", "run-due", "--now", "next tuesday"])

    assert result.exit_code == 2
    assert "--now" in result.output


def test_paid_orders_are_left_alone(session, make_order):
    order = make_order(now=T0)

    report = due.run_due(session, now=T0 + 365 * DAY)

    assert not report.changed
    assert status_of(session, order).status == PAID
