"""The order state machine: every legal move, illegal ones refused, actors and events, notifications."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from zhongcao.catalog.models import Product, Shop
from zhongcao.commerce import orders
from zhongcao.commerce.models import CANCELLED, COMPLETED, PAID, PENDING_PAYMENT, RECEIVED, SHIPPED, Checkout, OrderEvent, OrderLine
from zhongcao.errors import Conflict, InvalidInput
from zhongcao.ledger import ledger
from zhongcao.ledger.models import COMMISSION_CONFIRMED, COMMISSION_PENDING, REFUNDS
from zhongcao.social.models import Notification

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=timezone.utc)


def owner_of(session, order):
    return session.get(Shop, order.shop_id).owner_id


def events_of(session, order):
    return session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()


def ship(session, order, **overrides):
    args = dict(order_id=order.id, actor_id=owner_of(session, order), carrier="顺丰速运", tracking_number="sf1234567890", now=T0)
    args.update(overrides)
    return orders.ship_order(session, **args)


def stock_of(session, product):
    session.expire_all()
    return session.get(Product, product.id).stock


def test_the_shop_owner_ships_a_paid_order_with_carrier_and_tracking_number(session, make_order):
    order = make_order(now=T0)

    shipped = ship(session, order, tracking_number=" sf 1234 5678 90 ")

    assert shipped.status == SHIPPED
    assert (shipped.carrier, shipped.tracking_number) == ("顺丰速运", "SF1234567890")
    assert shipped.shipped_at == T0
    last = events_of(session, order)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == (PAID, SHIPPED, owner_of(session, order))


@pytest.mark.parametrize("who", ["buyer", "stranger", "other_merchant"])
def test_nobody_but_the_shop_owner_may_ship(session, make_order, make_user, make_shop, who):
    order = make_order(now=T0)
    actor = {
        "buyer": lambda: order.buyer_id,
        "stranger": lambda: make_user().id,
        "other_merchant": lambda: make_shop().owner_id,
    }[who]()

    with pytest.raises(orders.OrderNotFound):
        ship(session, order, actor_id=actor)

    session.refresh(order)
    assert order.status == PAID


def test_shipping_needs_a_carrier_and_a_well_formed_tracking_number(session, make_order):
    order = make_order(now=T0)
    cases = [("", "SF1234567890", "carrier_required"), ("快" * 41, "SF1234567890", "carrier_too_long"),
             ("顺丰速运", "", "tracking_number_invalid"), ("顺丰速运", "12345", "tracking_number_invalid"),
             ("顺丰速运", "SF12<script>", "tracking_number_invalid")]

    codes = []
    for carrier, tracking, _code in cases:
        with pytest.raises(InvalidInput) as raised:
            ship(session, order, carrier=carrier, tracking_number=tracking)
        codes.append(raised.value.code)

    assert codes == [code for _carrier, _tracking, code in cases]
    session.refresh(order)
    assert order.status == PAID


def test_the_buyer_confirms_receipt_and_the_return_window_starts(session, make_order):
    order = make_order(now=T0)
    ship(session, order)

    received = orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0 + timedelta(days=2))

    assert received.status == RECEIVED
    assert received.received_at == T0 + timedelta(days=2)
    assert received.return_window_ends_at == T0 + timedelta(days=9)
    last = events_of(session, order)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == (SHIPPED, RECEIVED, order.buyer_id)


def test_only_the_buyer_confirms_receipt(session, make_order):
    order = make_order(now=T0)
    ship(session, order)

    with pytest.raises(orders.OrderNotFound):
        orders.confirm_receipt(session, order_id=order.id, buyer_id=owner_of(session, order), now=T0)

    session.refresh(order)
    assert order.status == SHIPPED


def test_completing_after_the_window_confirms_the_commission(session, make_order, make_product, make_user):
    creator = make_user(is_creator=True)
    product = make_product(price_fen=3333, commission_bp=1250)
    order = make_order(now=T0, items=[(product, 3)], beneficiary=creator)
    ship(session, order)
    orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0 + timedelta(days=1))

    completed = orders.complete_order(session, order_id=order.id, now=T0 + timedelta(days=8))

    assert completed.status == COMPLETED
    assert completed.completed_at == T0 + timedelta(days=8)
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 9999 * 1250 // 10000
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 0
    last = events_of(session, order)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == (RECEIVED, COMPLETED, None)
    assert ledger.check_ledger(session) == []


def test_completing_is_refused_while_the_return_window_is_open(session, make_order):
    order = make_order(now=T0)
    ship(session, order)
    orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0)

    with pytest.raises(Conflict) as raised:
        orders.complete_order(session, order_id=order.id, now=T0 + timedelta(days=7) - timedelta(seconds=1))

    assert raised.value.code == "return_window_open"
    session.refresh(order)
    assert order.status == RECEIVED


ILLEGAL_MOVES = [
    ("unpaid", "ship", (PENDING_PAYMENT, SHIPPED)),
    ("unpaid", "receive", (PENDING_PAYMENT, RECEIVED)),
    ("paid", "receive", (PAID, RECEIVED)),
    ("paid", "complete", (PAID, COMPLETED)),
    ("shipped", "ship", (SHIPPED, SHIPPED)),
    ("shipped", "complete", (SHIPPED, COMPLETED)),
    ("received", "receive", (RECEIVED, RECEIVED)),
    ("received", "ship", (RECEIVED, SHIPPED)),
    ("completed", "complete", (COMPLETED, COMPLETED)),
    ("cancelled", "ship", (CANCELLED, SHIPPED)),
]


def order_in(session, make_order, product, state):
    order = make_order(now=T0, paid=state != "unpaid", items=[(product, 1)])
    if state in ("shipped", "received", "completed"):
        ship(session, order)
    if state in ("received", "completed"):
        orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0)
    if state == "completed":
        orders.complete_order(session, order_id=order.id, now=T0 + timedelta(days=8))
    if state == "cancelled":
        orders.cancel_order(session, order_id=order.id, actor_id=owner_of(session, order), now=T0)
    return order


def test_illegal_moves_are_refused_naming_from_and_to(session, make_order, make_product):
    product = make_product(stock=50)
    # One order per state, each tried with every move that state does not allow.
    by_state = {state: order_in(session, make_order, product, state) for state in dict.fromkeys(s for s, _m, _e in ILLEGAL_MOVES)}
    refused = []

    for state, move, _expected in ILLEGAL_MOVES:
        order = by_state[state]
        before = len(events_of(session, order))
        moves = {
            "ship": lambda: ship(session, order),
            "receive": lambda: orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0),
            "complete": lambda: orders.complete_order(session, order_id=order.id, now=T0 + timedelta(days=30)),
        }
        with pytest.raises(orders.IllegalTransition) as raised:
            moves[move]()
        assert raised.value.code == "illegal_transition"
        assert raised.value.detail == f"{raised.value.from_status} → {raised.value.to_status}"
        assert len(events_of(session, order)) == before
        refused.append((raised.value.from_status, raised.value.to_status))

    assert refused == [expected for _state, _move, expected in ILLEGAL_MOVES]


def test_the_buyer_cancels_an_unpaid_order_and_its_stock_comes_back(session, make_order, make_product):
    product = make_product(stock=5)
    order = make_order(now=T0, items=[(product, 2)], paid=False)
    assert stock_of(session, product) == 3

    cancelled = orders.cancel_order(session, order_id=order.id, actor_id=order.buyer_id, now=T0)

    assert cancelled.status == CANCELLED
    assert stock_of(session, product) == 5
    assert session.get(Checkout, order.checkout_id).status == CANCELLED
    last = events_of(session, order)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == (PENDING_PAYMENT, CANCELLED, order.buyer_id)


def test_the_buyer_cannot_cancel_a_paid_order_and_the_merchant_cannot_cancel_an_unpaid_one(session, make_order):
    paid = make_order(now=T0)
    unpaid = make_order(now=T0, paid=False)

    with pytest.raises(orders.IllegalTransition):
        orders.cancel_order(session, order_id=paid.id, actor_id=paid.buyer_id, now=T0)
    with pytest.raises(orders.IllegalTransition):
        orders.cancel_order(session, order_id=unpaid.id, actor_id=owner_of(session, unpaid), now=T0)

    session.refresh(paid)
    session.refresh(unpaid)
    assert (paid.status, unpaid.status) == (PAID, PENDING_PAYMENT)


def test_strangers_cannot_cancel(session, make_order, make_user):
    order = make_order(now=T0, paid=False)

    with pytest.raises(orders.OrderNotFound):
        orders.cancel_order(session, order_id=order.id, actor_id=make_user().id, now=T0)


def test_the_merchant_cancels_a_paid_order_refunding_every_line_in_full(session, make_order, make_product, make_user):
    creator = make_user(is_creator=True)
    product = make_product(stock=10, price_fen=19900)
    order = make_order(now=T0, items=[(product, 3)], beneficiary=creator)
    notices = []

    cancelled = orders.cancel_order(session, order_id=order.id, actor_id=owner_of(session, order), reason="缺货 out of stock",
                                    now=T0, announce=notices.append)

    assert cancelled.status == CANCELLED
    assert stock_of(session, product) == 10
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    assert (line.refunded_quantity, line.refunded_fen) == (3, 59700)
    assert ledger.balance(session, account=REFUNDS, owner_id=order.buyer_id) == 59700
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 0
    assert ledger.check_ledger(session) == []
    assert [(n.kind, n.order_number) for n in notices] == [("order_cancelled", order.number)]


def test_the_merchant_cannot_cancel_once_shipped(session, make_order):
    order = make_order(now=T0)
    ship(session, order)

    with pytest.raises(orders.IllegalTransition) as raised:
        orders.cancel_order(session, order_id=order.id, actor_id=owner_of(session, order), now=T0)

    assert (raised.value.from_status, raised.value.to_status) == (SHIPPED, CANCELLED)


def test_shipping_notifies_and_mails_the_buyer(session, make_order, make_user):
    buyer = make_user(email="buyer-ship@example.com")
    order = make_order(buyer=buyer, now=T0)
    notices = []

    ship(session, order, announce=notices.append)

    notification = session.exec(select(Notification).where(Notification.recipient_id == buyer.id)).one()
    assert notification.kind == "order_shipped"
    assert notification.group_key == f"order_shipped:{order.number}"
    assert notices[0].recipient_email == "buyer-ship@example.com"
    assert notices[0].details["tracking_number"] == "SF1234567890"


def test_a_paid_checkout_notifies_and_mails_the_merchant(session, make_order):
    order = make_order(now=T0)
    notices = []

    orders.notify_checkout_paid(session, checkout_id=order.checkout_id, now=T0, announce=notices.append)

    owner_id = owner_of(session, order)
    assert session.exec(select(Notification.kind).where(Notification.recipient_id == owner_id)).all() == ["order_paid"]
    assert [(n.kind, n.details["total_fen"]) for n in notices] == [("order_paid", order.total_fen)]


def test_the_timeline_records_every_move_with_its_actor(session, make_order):
    order = make_order(now=T0)
    merchant = owner_of(session, order)
    ship(session, order, now=T0 + timedelta(hours=1))
    orders.confirm_receipt(session, order_id=order.id, buyer_id=order.buyer_id, now=T0 + timedelta(days=1))
    orders.complete_order(session, order_id=order.id, now=T0 + timedelta(days=8))

    detail = orders.get_order_detail(session, number=order.number, viewer_id=order.buyer_id, now=T0 + timedelta(days=9))

    moves = [(e.event.from_status, e.event.to_status, e.event.actor_id) for e in detail.timeline]
    assert moves == [
        (None, PENDING_PAYMENT, order.buyer_id),
        (PENDING_PAYMENT, PAID, None),
        (PAID, SHIPPED, merchant),
        (SHIPPED, RECEIVED, order.buyer_id),
        (RECEIVED, COMPLETED, None),
    ]
    assert [e.event.created_at for e in detail.timeline] == sorted(e.event.created_at for e in detail.timeline)


def test_order_details_are_for_the_buyer_the_shop_owner_and_admins_only(session, make_order, make_user, make_shop):
    order = make_order(now=T0)

    for viewer in (order.buyer_id, owner_of(session, order), make_user(is_admin=True).id):
        assert orders.get_order_detail(session, number=order.number, viewer_id=viewer).order.id == order.id
    for viewer in (make_user().id, make_shop().owner_id, None):
        with pytest.raises(orders.OrderNotFound):
            orders.get_order_detail(session, number=order.number, viewer_id=viewer)


def test_buy_again_puts_the_products_back_in_the_cart_without_attribution(session, make_order, make_product, make_user, make_shop):
    from zhongcao.commerce.models import Cart, CartLine

    creator = make_user(is_creator=True)
    shop = make_shop()
    plenty, scarce, gone = (make_product(shop=shop, stock=stock) for stock in (10, 3, 1))
    order = make_order(now=T0, items=[(plenty, 2), (scarce, 2), (gone, 1)], beneficiary=creator)
    session.get(Product, scarce.id).stock = 1
    session.commit()

    result = orders.buy_again(session, number=order.number, buyer_id=order.buyer_id, now=T0)

    cart = session.exec(select(Cart).where(Cart.owner_id == order.buyer_id)).one()
    lines = {line.product_id: line for line in session.exec(select(CartLine).where(CartLine.cart_id == cart.id))}
    assert {pid: line.quantity for pid, line in lines.items()} == {plenty.id: 2, scarce.id: 1}
    assert all(line.beneficiary_id is None for line in lines.values())
    assert [title for title, _error in result.skipped] == [gone.title]
    assert result.skipped[0][1].code == "out_of_stock"


def test_buy_again_refuses_someone_elses_order(session, make_order, make_user):
    order = make_order(now=T0)

    with pytest.raises(orders.OrderNotFound):
        orders.buy_again(session, number=order.number, buyer_id=make_user().id, now=T0)
