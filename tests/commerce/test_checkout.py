"""place_order: one transaction, stock taken by conditional UPDATE, prices from the database, one
checkout per idempotency key, split per shop; and expiry giving stock back exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from zhongcao.catalog.models import PRODUCT_HIDDEN, Product
from zhongcao.commerce import cart as carts, checkout
from zhongcao.commerce.models import (
    CANCELLED, PAID, PENDING_PAYMENT, CartLine, Checkout, Order, OrderEvent, OrderLine,
)
from zhongcao.errors import Conflict, InvalidInput, NotFound

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)


def _stock(session, product) -> int:
    return session.exec(select(Product.stock).where(Product.id == product.id)).one()


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def buyer(make_user):
    return make_user()


@pytest.fixture
def place(session, make_address, buyer):
    """place(cart, key=…, now=T0, who=buyer) -> Checkout."""

    def go(cart, key="key-1", now=T0, who=None, **kwargs):
        who = who or buyer
        address = make_address(who) if who.id not in made else made[who.id]
        made[who.id] = address
        return checkout.place_order(session, buyer_id=who.id, cart_id=cart.id, address_id=address.id,
                                    idempotency_key=key, now=now, **kwargs)

    made: dict[int, object] = {}
    return go


def test_placing_an_order_splits_it_per_shop_and_takes_the_stock(session, make_cart, make_product, make_shop, buyer, place):
    shop_a, shop_b = make_shop(), make_shop()
    tea = make_product(shop=shop_a, price_fen=1990, stock=5, commission_bp=1500)
    cup = make_product(shop=shop_a, price_fen=505, stock=2)
    pen = make_product(shop=shop_b, price_fen=999, stock=1)
    cart = make_cart(buyer=buyer, lines=[(tea, 2), (cup, 2), (pen, 1)])

    placed = place(cart, expiry_minutes=30)

    orders = session.exec(select(Order).where(Order.checkout_id == placed.id).order_by(Order.id)).all()
    assert [order.shop_id for order in orders] == [shop_a.id, shop_b.id]
    assert [order.total_fen for order in orders] == [2 * 1990 + 2 * 505, 999]
    assert placed.total_fen == 2 * 1990 + 2 * 505 + 999
    assert (placed.status, placed.expires_at) == (PENDING_PAYMENT, T0 + timedelta(minutes=30))
    assert len({order.number for order in orders}) == 2
    assert all(order.status == PENDING_PAYMENT and order.recipient == "张三" for order in orders)
    tea_line = session.exec(select(OrderLine).where(OrderLine.product_id == tea.id)).one()
    assert (tea_line.unit_price_fen, tea_line.quantity, tea_line.line_total_fen, tea_line.commission_bp) == (1990, 2, 3980, 1500)
    assert (_stock(session, tea), _stock(session, cup), _stock(session, pen)) == (3, 0, 0)
    assert session.exec(select(CartLine).where(CartLine.cart_id == cart.id)).all() == []
    events = session.exec(select(OrderEvent).order_by(OrderEvent.id)).all()
    assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [(None, PENDING_PAYMENT, buyer.id)] * 2


def test_the_same_idempotency_key_twice_gives_one_checkout(session, make_cart, make_product, buyer, place):
    product = make_product(stock=5)
    cart = make_cart(buyer=buyer, lines=[(product, 2)])

    first = place(cart, key="double-submit")
    carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=1)  # even with a refilled cart
    second = place(cart, key="double-submit")

    assert second.id == first.id
    assert _count(session, Checkout) == 1
    assert _count(session, Order) == 1
    assert _stock(session, product) == 3


def test_a_retry_after_the_order_emptied_the_cart_gives_the_first_checkout(session, make_cart, make_product, buyer, place):
    product = make_product(stock=5)
    cart = make_cart(buyer=buyer, lines=[(product, 2)])
    first = place(cart, key="retried")

    again = place(cart, key="retried")  # the cart is empty now: the key still wins

    assert again.id == first.id
    assert (_count(session, Checkout), _stock(session, product)) == (1, 3)


def test_the_buyers_own_cart_is_ordered_when_no_cart_is_named(session, make_cart, make_product, make_address, buyer):
    product = make_product(stock=5)
    make_cart(buyer=buyer, lines=[(product, 2)])

    placed = checkout.place_order(session, buyer_id=buyer.id, address_id=make_address(buyer).id, idempotency_key="own")

    assert placed.total_fen == 2 * product.price_fen
    assert _stock(session, product) == 3
    with pytest.raises(checkout.EmptyCart):
        checkout.place_order(session, buyer_id=buyer.id, address_id=make_address(buyer).id, idempotency_key="own-2")


@pytest.mark.parametrize(("stock", "quantity", "left"), [(5, 2, 3), (2, 2, 0)])
def test_an_order_takes_exactly_its_units_whether_or_not_it_sells_out(session, make_cart, make_product, buyer, place,
                                                                      stock, quantity, left):
    product = make_product(stock=stock)

    place(make_cart(buyer=buyer, lines=[(product, quantity)]))

    assert _stock(session, product) == left


def test_another_buyers_key_is_refused(session, make_cart, make_product, make_user, buyer, place):
    product = make_product()
    place(make_cart(buyer=buyer, lines=[(product, 1)]), key="shared-key")
    other = make_user()

    with pytest.raises(Conflict):
        place(make_cart(buyer=other, lines=[(product, 1)]), key="shared-key", who=other)
    assert _count(session, Checkout) == 1


def test_a_missing_or_overlong_key_is_refused(make_cart, make_product, buyer, place):
    cart = make_cart(buyer=buyer, lines=[(make_product(), 1)])

    for key in ("", "   ", "k" * 65):
        with pytest.raises(InvalidInput):
            place(cart, key=key)


def test_prices_come_from_the_database_at_order_time(session, make_cart, make_product, buyer, place):
    product = make_product(price_fen=10000, commission_bp=1000)
    cart = make_cart(buyer=buyer, lines=[(product, 1)])
    product.price_fen, product.commission_bp = 12345, 2000
    session.add(product)
    session.commit()

    placed = place(cart)

    line = session.exec(select(OrderLine)).one()
    assert (line.unit_price_fen, line.line_total_fen, line.commission_bp, placed.total_fen) == (12345, 12345, 2000, 12345)


def test_one_short_product_aborts_the_whole_order_and_takes_no_stock(session, make_cart, make_product, buyer, place):
    plenty, scarce = make_product(stock=10), make_product(stock=2)
    cart = make_cart(buyer=buyer, lines=[(plenty, 3), (scarce, 2)])
    scarce.stock = 1  # someone else bought one since it went into the cart
    session.add(scarce)
    session.commit()

    with pytest.raises(carts.NotEnoughStock) as raised:
        place(cart)

    assert raised.value.available == 1
    assert (_stock(session, plenty), _stock(session, scarce)) == (10, 1)
    assert _count(session, Checkout) == 0 and _count(session, Order) == 0
    assert len(session.exec(select(CartLine).where(CartLine.cart_id == cart.id)).all()) == 2


def test_a_sold_out_or_hidden_product_cannot_be_ordered(session, make_cart, make_product, buyer, place):
    gone, hidden = make_product(stock=1), make_product(stock=1)
    sold_out_cart = make_cart(buyer=buyer, lines=[(gone, 1)])
    gone.stock = 0
    session.add(gone)
    session.commit()
    with pytest.raises(carts.OutOfStock):
        place(sold_out_cart, key="sold-out")
    carts.remove_line(session, cart_id=sold_out_cart.id,
                      line_id=session.exec(select(CartLine.id).where(CartLine.cart_id == sold_out_cart.id)).one())
    carts.add_to_cart(session, cart_id=sold_out_cart.id, product_id=hidden.id, quantity=1)
    hidden.status = PRODUCT_HIDDEN
    session.add(hidden)
    session.commit()

    with pytest.raises(carts.ProductUnavailable):
        place(sold_out_cart, key="hidden")
    assert _count(session, Checkout) == 0


def test_stock_can_never_go_below_zero_even_by_a_direct_update(session, make_product):
    product = make_product(stock=1)

    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE product SET stock = stock - 2 WHERE id = :id"), {"id": product.id})
        session.commit()
    session.rollback()

    assert _stock(session, product) == 1


def test_an_empty_cart_someone_elses_cart_or_address_is_refused(session, make_cart, make_product, make_user, make_address, buyer, place):
    with pytest.raises(checkout.EmptyCart):
        place(make_cart(buyer=buyer))
    other = make_user()
    their_cart = make_cart(buyer=other, lines=[(make_product(), 1)])
    with pytest.raises(NotFound):
        place(their_cart, key="theirs")
    my_cart = make_cart(buyer=buyer, lines=[(make_product(), 1)])
    with pytest.raises(NotFound):
        checkout.place_order(session, buyer_id=buyer.id, cart_id=my_cart.id, address_id=make_address(other).id,
                             idempotency_key="their-address")
    assert _count(session, Checkout) == 0


def test_unpaid_checkouts_expire_and_give_their_stock_back_exactly_once(session, make_cart, make_product, buyer, place):
    product = make_product(stock=5)
    placed = place(make_cart(buyer=buyer, lines=[(product, 3)]), expiry_minutes=30)
    assert _stock(session, product) == 2

    early = checkout.expire_unpaid(session, now=T0 + timedelta(minutes=29))
    first = checkout.expire_unpaid(session, now=T0 + timedelta(minutes=30))
    again = checkout.expire_unpaid(session, now=T0 + timedelta(hours=2))

    assert (early, first, again) == (0, 1, 0)
    assert _stock(session, product) == 5
    assert session.get(Checkout, placed.id).status == CANCELLED
    order = session.exec(select(Order)).one()
    assert order.status == CANCELLED and order.cancelled_at == T0 + timedelta(minutes=30)
    last = session.exec(select(OrderEvent).order_by(OrderEvent.id.desc())).first()
    assert (last.from_status, last.to_status, last.actor_id) == (PENDING_PAYMENT, CANCELLED, None)


def test_reading_an_expired_checkout_expires_it(session, make_cart, make_product, buyer, place):
    product = make_product(stock=2)
    placed = place(make_cart(buyer=buyer, lines=[(product, 2)]))

    page = checkout.get_checkout(session, checkout_id=placed.id, buyer_id=buyer.id, now=T0 + timedelta(minutes=31))

    assert page.checkout.status == CANCELLED and not page.is_payable
    assert _stock(session, product) == 2


def test_paid_checkouts_never_expire(session, make_cart, make_product, buyer, place):
    from zhongcao.commerce.payments import mark_checkout_paid

    product = make_product(stock=2)
    placed = place(make_cart(buyer=buyer, lines=[(product, 1)]))
    mark_checkout_paid(session, checkout_id=placed.id, provider="sandbox", provider_ref="sandbox-paid",
                       amount_fen=placed.total_fen, now=T0 + timedelta(minutes=5))

    assert checkout.expire_unpaid(session, now=T0 + timedelta(days=1)) == 0
    assert session.get(Checkout, placed.id).status == PAID
    assert _stock(session, product) == 1


def test_the_buyer_can_cancel_an_unpaid_checkout_once(session, make_cart, make_product, make_user, buyer, place):
    product = make_product(stock=4)
    placed = place(make_cart(buyer=buyer, lines=[(product, 4)]))
    with pytest.raises(NotFound):
        checkout.cancel_checkout(session, checkout_id=placed.id, buyer_id=make_user().id)

    checkout.cancel_checkout(session, checkout_id=placed.id, buyer_id=buyer.id, now=T0)
    with pytest.raises(checkout.CheckoutExpired):
        checkout.cancel_checkout(session, checkout_id=placed.id, buyer_id=buyer.id, now=T0)

    assert _stock(session, product) == 4
    assert session.get(Checkout, placed.id).status == CANCELLED


def test_an_order_refused_for_stock_leaves_the_session_ready_for_the_next_one(session, make_cart, make_product, buyer, place):
    product = make_product(price_fen=1000, stock=1)
    cart = make_cart(buyer=buyer, lines=[(product, 1)])
    session.exec(text("UPDATE cart_line SET quantity = 2"))  # more than is left, as after a sale elsewhere
    session.commit()
    with pytest.raises(carts.NotEnoughStock) as refused:  # its traceback keeps the refused attempt's objects alive
        place(cart, key="too-many")
    assert refused.value.available == 1
    carts.set_quantity(session, cart_id=cart.id, line_id=session.exec(select(CartLine.id)).one(), quantity=1)

    placed = place(cart, key="just-enough")  # SQLite may hand out the refused checkout's id again

    assert session.get(Checkout, placed.id) is placed
    assert (placed.idempotency_key, placed.total_fen, placed.status) == ("just-enough", 1000, PENDING_PAYMENT)
    session.refresh(placed)
    assert placed.idempotency_key == "just-enough"
    assert _stock(session, product) == 0
