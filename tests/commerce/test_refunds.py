"""Refunds per line and partial: amounts, the return window, who decides, stock restored exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from zhongcao.catalog.models import Product, Shop
from zhongcao.commerce import orders, refunds
from zhongcao.commerce.models import COMPLETED, OrderEvent, OrderLine, RefundRequest
from zhongcao.errors import Conflict, InvalidInput
from zhongcao.ledger import ledger
from zhongcao.ledger.models import COMMISSION_CONFIRMED, COMMISSION_PENDING, REFUNDS
from zhongcao.social.models import Notification

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def bought(session, make_order, make_product, make_user):
    """A paid order of 3 × ¥199.00 (stock 10 → 7), credited to a creator at 10%."""
    creator = make_user(is_creator=True)
    product = make_product(stock=10, price_fen=19900, commission_bp=1000)
    order = make_order(now=T0, items=[(product, 3)], beneficiary=creator)
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    merchant = session.get(Shop, order.shop_id).owner_id
    return dict(order=order, line=line, product=product, creator=creator, merchant=merchant)


def ask(session, bought, quantity, now=T0, **extra):
    return refunds.request_refund(session, order_line_id=bought["line"].id, quantity=quantity,
                                  buyer_id=bought["order"].buyer_id, reason=extra.pop("reason", "不合适"), now=now, **extra)


def stock_of(session, product):
    session.expire_all()
    return session.get(Product, product.id).stock


def line_of(session, bought):
    session.expire_all()
    return session.get(OrderLine, bought["line"].id)


def test_a_partial_refund_is_unit_price_times_quantity(session, bought):
    first = ask(session, bought, 1)
    second = ask(session, bought, 2)

    assert (first.quantity, first.amount_fen, first.status) == (1, 19900, "requested")
    assert (second.quantity, second.amount_fen) == (2, 39800)


def test_the_last_units_refund_what_remains_of_the_paid_total(session, make_order, make_product):
    product = make_product(price_fen=3333)
    order = make_order(now=T0, items=[(product, 3)])
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    # Nothing in the app writes a line whose total is not price × quantity; this guards the rule itself.
    line.line_total_fen = 9998
    session.add(line)
    session.commit()

    first = refunds.request_refund(session, order_line_id=line.id, quantity=2, buyer_id=order.buyer_id, now=T0)
    last = refunds.request_refund(session, order_line_id=line.id, quantity=1, buyer_id=order.buyer_id, now=T0)

    assert (first.amount_fen, last.amount_fen) == (6666, 3332)
    assert first.amount_fen + last.amount_fen == line.line_total_fen


@pytest.mark.parametrize("quantity", [0, -1, 4])
def test_a_refund_of_more_than_was_bought_is_refused(session, bought, quantity):
    with pytest.raises(InvalidInput) as raised:
        ask(session, bought, quantity)

    assert raised.value.code == "refund_quantity_invalid"
    assert raised.value.field == "quantity"


def test_units_waiting_in_an_open_request_cannot_be_asked_for_again(session, bought):
    ask(session, bought, 2)

    with pytest.raises(InvalidInput) as raised:
        ask(session, bought, 2)

    assert raised.value.detail == "1–1"
    assert ask(session, bought, 1).amount_fen == 19900


def test_approving_refunds_the_money_and_restores_stock_exactly_once(session, bought):
    refund = ask(session, bought, 2)
    assert stock_of(session, bought["product"]) == 7

    refunds.approve_refund(session, refund_id=refund.id, actor_id=bought["merchant"], now=T0 + timedelta(hours=1))
    with pytest.raises(Conflict) as again:
        refunds.approve_refund(session, refund_id=refund.id, actor_id=bought["merchant"], now=T0 + timedelta(hours=2))
    with pytest.raises(Conflict):
        refunds.reject_refund(session, refund_id=refund.id, actor_id=bought["merchant"], now=T0 + timedelta(hours=2))

    assert again.value.code == "refund_already_decided"
    assert stock_of(session, bought["product"]) == 9
    line = line_of(session, bought)
    assert (line.refunded_quantity, line.refunded_fen) == (2, 39800)
    assert ledger.balance(session, account=REFUNDS, owner_id=bought["order"].buyer_id) == 39800
    # 10% commission recomputed on what remains paid: floor(19900 × 0.10).
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=bought["creator"].id) == 1990
    assert ledger.check_ledger(session) == []
    decided = session.get(RefundRequest, refund.id)
    assert (decided.status, decided.decided_by_id) == ("refunded", bought["merchant"])


def test_refunding_every_unit_in_parts_never_exceeds_what_was_paid(session, bought):
    for quantity in (1, 1, 1):
        refund = ask(session, bought, quantity)
        refunds.approve_refund(session, refund_id=refund.id, actor_id=bought["merchant"], now=T0)

    line = line_of(session, bought)
    assert (line.refunded_quantity, line.refunded_fen) == (3, line.line_total_fen)
    assert stock_of(session, bought["product"]) == 10
    with pytest.raises(InvalidInput):
        ask(session, bought, 1)
    assert ledger.check_ledger(session) == []


def test_rejecting_keeps_the_stock_and_records_the_reason(session, bought):
    refund = ask(session, bought, 1)
    notices = []

    refunds.reject_refund(session, refund_id=refund.id, actor_id=bought["merchant"], reason="已使用 used", now=T0,
                          announce=notices.append)

    assert stock_of(session, bought["product"]) == 7
    assert session.get(RefundRequest, refund.id).status == "rejected"
    note = session.exec(select(OrderEvent.note).where(OrderEvent.order_id == bought["order"].id)
                        .order_by(OrderEvent.id.desc())).first()
    assert "已使用 used" in note
    assert [(n.kind, n.recipient_email) for n in notices] == [
        ("refund_rejected", session.get(type(bought["creator"]), bought["order"].buyer_id).email)]
    assert ledger.balance(session, account=REFUNDS, owner_id=bought["order"].buyer_id) == 0


def test_requests_notify_the_merchant_and_decisions_notify_the_buyer(session, bought):
    refund = ask(session, bought, 1)
    refunds.approve_refund(session, refund_id=refund.id, actor_id=bought["merchant"], now=T0)

    kinds = dict(session.exec(select(Notification.recipient_id, Notification.kind)).all())

    assert kinds == {bought["merchant"]: "refund_requested", bought["order"].buyer_id: "refund_approved"}


def test_only_the_buyer_may_ask_for_a_refund(session, bought, make_user):
    for stranger in (bought["merchant"], make_user().id):
        with pytest.raises(orders.OrderNotFound):
            refunds.request_refund(session, order_line_id=bought["line"].id, quantity=1, buyer_id=stranger, now=T0)


def test_only_the_shop_owner_or_an_admin_decides(session, bought, make_user, make_shop):
    refund = ask(session, bought, 1)

    for outsider in (bought["order"].buyer_id, make_user().id, make_shop().owner_id):
        with pytest.raises(refunds.RefundNotFound):
            refunds.approve_refund(session, refund_id=refund.id, actor_id=outsider, now=T0)
        with pytest.raises(refunds.RefundNotFound):
            refunds.reject_refund(session, refund_id=refund.id, actor_id=outsider, now=T0)
    admin = make_user(is_admin=True)
    refunds.approve_refund(session, refund_id=refund.id, actor_id=admin.id, now=T0)

    assert session.get(RefundRequest, refund.id).decided_by_id == admin.id
    assert stock_of(session, bought["product"]) == 8


def test_an_unpaid_order_cannot_be_refunded(session, make_order):
    order = make_order(now=T0, paid=False)
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()

    with pytest.raises(Conflict) as raised:
        refunds.request_refund(session, order_line_id=line.id, quantity=1, buyer_id=order.buyer_id, now=T0)

    assert raised.value.code == "refund_not_allowed"


def test_refunds_are_refused_once_the_return_window_closes(session, bought):
    order, merchant = bought["order"], bought["merchant"]
    orders.ship_order(session, order_id=order.id, actor_id=merchant, carrier="中通快递", tracking_number="ZT00112233", now=T0)
    orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0 + timedelta(days=1))
    closes = T0 + timedelta(days=8)

    inside = ask(session, bought, 1, now=closes - timedelta(seconds=1))
    with pytest.raises(Conflict) as raised:
        ask(session, bought, 1, now=closes)

    assert inside.status == "requested"
    assert raised.value.code == "refund_window_closed"


def test_a_request_made_in_the_window_approved_after_completion_adjusts_the_confirmed_commission(session, bought):
    order, merchant, creator = bought["order"], bought["merchant"], bought["creator"]
    orders.ship_order(session, order_id=order.id, actor_id=merchant, carrier="中通快递", tracking_number="ZT00112233", now=T0)
    orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0)
    refund = ask(session, bought, 1, now=T0 + timedelta(days=6))
    orders.complete_order(session, order_id=order.id, now=T0 + timedelta(days=7))
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 5970

    refunds.approve_refund(session, refund_id=refund.id, actor_id=merchant, now=T0 + timedelta(days=8))

    session.refresh(order)
    assert order.status == COMPLETED
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 3980
    assert stock_of(session, bought["product"]) == 8
    assert ledger.check_ledger(session) == []
