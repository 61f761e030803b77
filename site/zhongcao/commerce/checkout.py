"""Placing an order: a cart becomes one Checkout (one payment) split into one Order per shop (拆单).

Everything happens in one transaction. On SQLite `atomic` starts it with BEGIN IMMEDIATE, so
concurrent checkouts queue for the write lock instead of failing; on PostgreSQL the conditional
UPDATE locks the product row, and a waiting UPDATE re-checks `stock >= :q` against the committed row.
Either way stock is taken with

    UPDATE product SET stock = stock - :q WHERE id = :id AND stock >= :q

(first tried as `stock > :q`, the usual sale that leaves some: see _TAKE_STOCK_LEAVING_SOME), and a
line whose UPDATE touches no row aborts the whole checkout, so stock never goes below zero
(and the CHECK constraint on product.stock backs that up). `with_for_update()` is not used: on
SQLite it silently does nothing.

Unpaid checkouts expire after CHECKOUT_EXPIRY_MINUTES and give their stock back exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from zhongcao.catalog.models import PRODUCT_ACTIVE, Product, Shop
from zhongcao.clock import utcnow
from zhongcao.commerce import attribution
from zhongcao.commerce.cart import NotEnoughStock, OutOfStock, ProductUnavailable
from zhongcao.commerce.models import (
    CANCELLED,
    PENDING_PAYMENT,
    Address,
    Cart,
    CartLine,
    Checkout,
    Order,
    OrderEvent,
    OrderLine,
)
from zhongcao.db import adopt, atomic, expire_loaded
from zhongcao.errors import Conflict, DomainError, InvalidInput, NotFound
from zhongcao.plainsql import PlainQuery, plain_insert

DEFAULT_EXPIRY_MINUTES = 30
MAX_KEY_LENGTH = 64


class EmptyCart(DomainError):
    code = "cart_empty"


class CheckoutExpired(DomainError):
    """The checkout was cancelled or expired: it can no longer be paid."""

    code = "checkout_expired"


# Built once (see cart.py): placing an order runs each of these, as plain statements: the rows are
# read once and written once, and ORM objects for them would cost several times the statements.
_CARTS, _CART_LINES, _PRODUCTS, _SHOPS = Cart.__table__, CartLine.__table__, Product.__table__, Shop.__table__
_CHECKOUT_OF_KEY = select(Checkout).where(Checkout.idempotency_key == bindparam("key")).limit(1)
# The cart is stamped first: on PostgreSQL that locks it, so an add in another tab waits for the order
# instead of raising the quantity of a line the order is about to take away.
_TOUCH = _CARTS.update().values(updated_at=bindparam("now")).returning(_CARTS.c.id)
_TOUCH_CART = PlainQuery(_TOUCH.where(_CARTS.c.id == bindparam("chosen_cart_id"), _CARTS.c.owner_id == bindparam("buyer_id")))
_TOUCH_OWN_CART = PlainQuery(_TOUCH.where(_CARTS.c.owner_id == bindparam("buyer_id")))
_ADDRESSES = Address.__table__
_OWN_ADDRESS = (_ADDRESSES.c.id == bindparam("address_id")) & (_ADDRESSES.c.user_id == bindparam("buyer_id"))
_ADDRESS_ID = PlainQuery(select(_ADDRESSES.c.id).where(_OWN_ADDRESS))
_ADDRESS_COLUMNS = ("recipient", "mobile", "province", "city", "district", "detail")
# The cart's lines with their products and shops as committed, each with the buyer's chosen address
# (none at all when the address is not theirs). Product order (by id) is the lock order on
# PostgreSQL: two checkouts never wait on each other in a cycle.
_LINES = PlainQuery(
    select(
        _CART_LINES.c.id, _CART_LINES.c.quantity, _CART_LINES.c.beneficiary_id, _CART_LINES.c.attribution_source,
        _CART_LINES.c.attribution_ref, _PRODUCTS.c.id.label("product_id"), _PRODUCTS.c.title, _PRODUCTS.c.price_fen,
        _PRODUCTS.c.commission_bp, _PRODUCTS.c.status, _PRODUCTS.c.shop_id, _SHOPS.c.owner_id.label("shop_owner_id"),
        *(_ADDRESSES.c[name].label(f"address_{name}") for name in _ADDRESS_COLUMNS),
    )
    .join(_PRODUCTS, _PRODUCTS.c.id == _CART_LINES.c.product_id)
    .join(_SHOPS, _SHOPS.c.id == _PRODUCTS.c.shop_id)
    .join(_ADDRESSES, _OWN_ADDRESS)
    .where(_CART_LINES.c.cart_id == bindparam("cart_id"))
    .order_by(_CART_LINES.c.product_id)
)
_CHECKOUT_COLUMNS = ("buyer_id", "idempotency_key", "total_fen", "status", "payment_provider", "expires_at", "paid_at",
                     "created_at")
_INSERT_CHECKOUT = plain_insert(Checkout.__table__, _CHECKOUT_COLUMNS, returning=("id",))
_INSERT_ORDER = plain_insert(Order.__table__, (
    "number", "checkout_id", "buyer_id", "shop_id", "status", "total_fen", "recipient", "mobile", "province", "city",
    "district", "address_detail", "created_at", "updated_at",
), returning=("id",))
_INSERT_LINES = plain_insert(OrderLine.__table__, (
    "order_id", "product_id", "title", "unit_price_fen", "quantity", "line_total_fen", "commission_bp", "beneficiary_id",
    "attribution_source", "attribution_ref", "refunded_quantity", "refunded_fen",
))
# An order's state change (placing here, paying in payments.py), one row or many (write_many).
INSERT_ORDER_EVENT = plain_insert(OrderEvent.__table__, ("order_id", "from_status", "to_status", "actor_id", "note", "created_at"))
# The lines ordered, by id: on PostgreSQL a line added meanwhile stays in the cart.
_DELETE_LINE = PlainQuery(_CART_LINES.delete().where(_CART_LINES.c.id == bindparam("line_id")))
# Most sales leave stock behind, and then no search document changes: they take it with a plain
# statement on the connection, which search.sync does not see. A sale of the last units (or of more
# than are left) takes it through the session instead, where search.sync notes it and, at commit,
# re-indexes the product if it sold out. Either statement only takes what is there.
_TAKE_STOCK_LEAVING_SOME = PlainQuery(
    _PRODUCTS.update()
    .where(_PRODUCTS.c.id == bindparam("taken_product_id"), _PRODUCTS.c.stock > bindparam("taken_quantity"))
    .values(stock=_PRODUCTS.c.stock - bindparam("taken_quantity"))
)
_TAKE_STOCK = (
    update(Product)
    .where(Product.id == bindparam("product_id"), Product.stock >= bindparam("quantity"))
    .values(stock=Product.stock - bindparam("quantity"))
    .execution_options(synchronize_session=False)
)


def place_order(
    session: Session,
    *,
    buyer_id: int,
    cart_id: int | None = None,
    address_id: int,
    idempotency_key: str,
    now: datetime | None = None,
    expiry_minutes: int = DEFAULT_EXPIRY_MINUTES,
    payment_provider: str = "sandbox",
) -> Checkout:
    """Turn the buyer's cart (`cart_id`, or by default their own) into an unpaid checkout with one order
    per shop, taking stock for every line.

    Prices and commission rates are read from the product rows, never from the request. Attribution
    is copied from the cart lines, minus any that `attribution.is_eligible` refuses now that the buyer
    is known. The cart is emptied. A repeated idempotency key returns the first checkout unchanged.

    Raises InvalidInput (key), NotFound (cart or address not the buyer's), EmptyCart,
    ProductUnavailable, OutOfStock or NotEnoughStock for the first product that ran short.
    """
    now = now or utcnow()
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(field="idempotency_key", code="idempotency_key_invalid")
    # A repeated key is the rare case, so it is not looked up first: the checkout's INSERT claims the
    # key before any stock is taken, and a repeat fails there (on PostgreSQL also when a concurrent
    # request with the key commits first: the unique index makes us wait for it, then refuses our
    # row). A repeat can also fail earlier, since the first order emptied the cart. Either way the
    # attempt rolled back, stock included, and the first checkout is returned.
    try:
        with atomic(session):
            return _place(session, buyer_id=buyer_id, cart_id=cart_id, address_id=address_id, key=key, now=now,
                          expiry_minutes=expiry_minutes, payment_provider=payment_provider)
    except IntegrityError:
        session.rollback()  # PostgreSQL refuses any statement after the error until then
        earlier = _find_by_key(session, key)
        if earlier is None:
            raise
        return _same_buyer(earlier, buyer_id)
    except DomainError:
        earlier = _find_by_key(session, key)
        if earlier is None:
            raise
        return _same_buyer(earlier, buyer_id)


def _place(session: Session, *, buyer_id: int, cart_id: int | None, address_id: int, key: str, now: datetime,
           expiry_minutes: int, payment_provider: str) -> Checkout:
    if cart_id is not None:
        touched = _TOUCH_CART.write_returning(session, chosen_cart_id=cart_id, buyer_id=buyer_id, now=now)
        if touched is None:
            raise NotFound()
    else:
        touched = _TOUCH_OWN_CART.write_returning(session, buyer_id=buyer_id, now=now)
        if touched is None:
            raise EmptyCart()
    cart_id = touched.id
    expire_loaded(session, Cart, cart_id, "updated_at")
    rows = _LINES.rows(session, cart_id=cart_id, address_id=address_id, buyer_id=buyer_id)
    if not rows:
        if _ADDRESS_ID.first(session, address_id=address_id, buyer_id=buyer_id) is None:
            raise NotFound()
        raise EmptyCart()
    address = {name: getattr(rows[0], f"address_{name}") for name in _ADDRESS_COLUMNS}
    by_shop: dict[int, list[tuple]] = {}
    for row in rows:
        by_shop.setdefault(row.shop_id, []).append(row)
    # Totals come from the product rows read here, in this transaction.
    order_totals = {shop_id: sum(row.price_fen * row.quantity for row in lines) for shop_id, lines in by_shop.items()}
    values = dict(
        buyer_id=buyer_id, idempotency_key=key, total_fen=sum(order_totals.values()), status=PENDING_PAYMENT,
        payment_provider=payment_provider, expires_at=now + timedelta(minutes=expiry_minutes), paid_at=None,
        created_at=now,
    )
    # The unique key is claimed here, before any stock is taken.
    checkout = adopt(session, Checkout(id=_INSERT_CHECKOUT.write_returning(session, **values).id, **values))
    for row in rows:
        _take_stock(session, row)
    for index, (shop_id, lines) in enumerate(sorted(by_shop.items()), start=1):
        order_id = _INSERT_ORDER.write_returning(
            session, **_order_row(checkout, shop_id, address, index=index, total_fen=order_totals[shop_id], now=now)
        ).id
        _INSERT_LINES.write_many(session, [_line_row(session, order_id, row, buyer_id) for row in lines])
        INSERT_ORDER_EVENT.write(session, order_id=order_id, from_status=None, to_status=PENDING_PAYMENT, actor_id=buyer_id,
                            note="下单 · order placed", created_at=now)
    line_ids = [row.id for row in rows]
    _DELETE_LINE.write_many(session, [{"line_id": line_id} for line_id in line_ids])
    for line_id in line_ids:  # a copy the session held of a line now gone must not be shown again
        loaded = session.identity_map.get(session.identity_key(CartLine, line_id))
        if loaded is not None:
            session.expunge(loaded)
    return checkout


def _take_stock(session: Session, row: tuple) -> None:
    if row.status != PRODUCT_ACTIVE:
        raise ProductUnavailable()
    taken = _TAKE_STOCK_LEAVING_SOME.write(session, taken_product_id=row.product_id, taken_quantity=row.quantity)
    if taken != 1:
        taken = session.execute(_TAKE_STOCK, {"product_id": row.product_id, "quantity": row.quantity}).rowcount
    _forget_stock(session, row.product_id)
    if taken != 1:
        left = session.execute(select(Product.stock).where(Product.id == row.product_id)).scalar_one()
        if left <= 0:
            raise OutOfStock(row.title, title=row.title)
        raise NotEnoughStock(title=row.title, available=left)


def _order_row(checkout: Checkout, shop_id: int, address: dict, *, index: int, total_fen: int, now: datetime) -> dict:
    return dict(
        # Unique because the checkout id is: ZC + date + checkout id + the shop's place in the checkout.
        number=f"ZC{now:%y%m%d}{checkout.id:07d}{index:02d}",
        checkout_id=checkout.id, buyer_id=checkout.buyer_id, shop_id=shop_id, status=PENDING_PAYMENT,
        total_fen=total_fen, recipient=address["recipient"], mobile=address["mobile"], province=address["province"],
        city=address["city"], district=address["district"], address_detail=address["detail"], created_at=now,
        updated_at=now,
    )


def _line_row(session: Session, order_id: int, row: tuple, buyer_id: int) -> dict:
    # Self-referral and own-shop purchases are stripped here too: an anonymous cart's buyer was unknown at add time.
    eligible = attribution.is_eligible(
        session, beneficiary_id=row.beneficiary_id, buyer_id=buyer_id, shop_owner_id=row.shop_owner_id
    )
    return dict(
        order_id=order_id,
        product_id=row.product_id,
        title=row.title[:120],
        unit_price_fen=row.price_fen,
        quantity=row.quantity,
        line_total_fen=row.price_fen * row.quantity,
        commission_bp=row.commission_bp,
        beneficiary_id=row.beneficiary_id if eligible else None,
        attribution_source=row.attribution_source if eligible else None,
        attribution_ref=row.attribution_ref if eligible else None,
        refunded_quantity=0,
        refunded_fen=0,
    )


def _forget_stock(session: Session, product_id: int) -> None:
    # The stock UPDATE bypasses the ORM (synchronize_session=False keeps rowcount exact on every driver).
    expire_loaded(session, Product, product_id, "stock")


def _find_by_key(session: Session, key: str) -> Checkout | None:
    return session.exec(_CHECKOUT_OF_KEY, params={"key": key}).first()


def _same_buyer(checkout: Checkout, buyer_id: int) -> Checkout:
    if checkout.buyer_id != buyer_id:
        # Keys are random per form; another buyer's key is a forgery or a bug, never a retry.
        raise Conflict(code="idempotency_key_reused")
    return checkout


@dataclass(frozen=True)
class CheckoutPage:
    checkout: Checkout
    orders: list[tuple[Order, list[OrderLine]]]

    @property
    def is_payable(self) -> bool:
        return self.checkout.status == PENDING_PAYMENT


def get_checkout(session: Session, *, checkout_id: int, buyer_id: int, now: datetime | None = None) -> CheckoutPage:
    """The buyer's checkout with its orders and lines, expiring it first if its time is up. Raises NotFound."""
    checkout = session.get(Checkout, checkout_id)
    if checkout is None or checkout.buyer_id != buyer_id:
        raise NotFound()
    if checkout.status == PENDING_PAYMENT and checkout.expires_at <= (now or utcnow()):
        expire_unpaid(session, now=now or utcnow(), checkout_id=checkout_id)
        session.refresh(checkout)
    orders = list(session.exec(select(Order).where(Order.checkout_id == checkout.id).order_by(Order.id)))
    lines = list(session.exec(
        select(OrderLine).where(OrderLine.order_id.in_([order.id for order in orders])).order_by(OrderLine.id)
    )) if orders else []
    return CheckoutPage(checkout, [(order, [line for line in lines if line.order_id == order.id]) for order in orders])


def expire_unpaid(session: Session, *, now: datetime, checkout_id: int | None = None) -> int:
    """Cancel unpaid checkouts whose time is up (or just `checkout_id`'s), giving their stock back.

    Safe to run concurrently and repeatedly: each checkout is claimed with a conditional UPDATE on its
    status, so its stock comes back exactly once. Returns how many checkouts expired now.
    """
    query = select(Checkout.id).where(Checkout.status == PENDING_PAYMENT, Checkout.expires_at <= now)
    if checkout_id is not None:
        query = query.where(Checkout.id == checkout_id)
    due = list(session.exec(query.order_by(Checkout.id)))
    expired = 0
    for due_id in due:
        with atomic(session):
            if _release(session, checkout_id=due_id, now=now, actor_id=None, note="超时未支付 · payment time ran out",
                        only_if_due=True):
                expired += 1
    return expired


def cancel_checkout(session: Session, *, checkout_id: int, buyer_id: int, now: datetime | None = None) -> Checkout:
    """The buyer gives up paying: cancel the unpaid checkout and give its stock back.

    Raises NotFound (not the buyer's), CheckoutExpired (already paid or cancelled).
    """
    now = now or utcnow()
    with atomic(session):
        checkout = session.get(Checkout, checkout_id)
        if checkout is None or checkout.buyer_id != buyer_id:
            raise NotFound()
        if not _release(session, checkout_id=checkout_id, now=now, actor_id=buyer_id, note="买家取消支付 · buyer cancelled"):
            raise CheckoutExpired()
    session.refresh(checkout)
    return checkout


def _release(session: Session, *, checkout_id: int, now: datetime, actor_id: int | None, note: str,
             only_if_due: bool = False) -> bool:
    claim = update(Checkout).where(Checkout.id == checkout_id, Checkout.status == PENDING_PAYMENT)
    if only_if_due:
        claim = claim.where(Checkout.expires_at <= now)
    if session.execute(claim.values(status=CANCELLED).execution_options(synchronize_session=False)).rowcount != 1:
        return False  # paid, or released by someone else in the meantime
    expire_loaded(session, Checkout, checkout_id, "status")
    orders = session.exec(select(Order).where(Order.checkout_id == checkout_id, Order.status == PENDING_PAYMENT)).all()
    for order in orders:
        for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id)):
            session.execute(
                update(Product).where(Product.id == line.product_id).values(stock=Product.stock + line.quantity)
                .execution_options(synchronize_session=False)
            )
            _forget_stock(session, line.product_id)
        order.status, order.cancelled_at, order.updated_at = CANCELLED, now, now
        session.add(order)
        session.add(OrderEvent(order_id=order.id, from_status=PENDING_PAYMENT, to_status=CANCELLED,
                               actor_id=actor_id, note=note, created_at=now))
    return True
