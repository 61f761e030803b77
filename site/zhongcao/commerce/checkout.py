"""Placing an order: a cart becomes one Checkout (one payment) split into one Order per shop (拆单).

Everything happens in one transaction. On SQLite `atomic` starts it with BEGIN IMMEDIATE, so
concurrent checkouts queue for the write lock instead of failing; on PostgreSQL the conditional
UPDATE locks the product row, and a waiting UPDATE re-checks `stock >= :q` against the committed row.
Either way stock is taken with

    UPDATE product SET stock = stock - :q WHERE id = :id AND stock >= :q

and a line whose UPDATE touches no row aborts the whole checkout, so stock never goes below zero
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
from zhongcao.commerce.addresses import get_address
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

DEFAULT_EXPIRY_MINUTES = 30
MAX_KEY_LENGTH = 64


class EmptyCart(DomainError):
    code = "cart_empty"


class CheckoutExpired(DomainError):
    """The checkout was cancelled or expired: it can no longer be paid."""

    code = "checkout_expired"


# Built once (see cart.py): placing an order runs each of these.
_CHECKOUT_OF_KEY = select(Checkout).where(Checkout.idempotency_key == bindparam("key")).limit(1)
_CART = select(Cart).where(Cart.id == bindparam("cart_id"))
# The cart's lines with their products and shops. Product order (by id) is the lock order on
# PostgreSQL: two checkouts never wait on each other in a cycle.
_LINES = (
    select(CartLine, Product, Shop)
    .join(Product, Product.id == CartLine.product_id)
    .join(Shop, Shop.id == Product.shop_id)
    .order_by(CartLine.product_id)
    .execution_options(populate_existing=True)  # price and status as committed, whatever the session held
)
_LINES_OF_CART = _LINES.join(Cart, Cart.id == CartLine.cart_id).where(
    Cart.id == bindparam("cart_id"), Cart.owner_id == bindparam("buyer_id")
)
_LINES_OF_BUYER = _LINES.where(  # the buyer's own cart, as cart.find_cart finds it
    CartLine.cart_id
    == select(Cart.id).where(Cart.owner_id == bindparam("buyer_id")).order_by(Cart.id).limit(1).scalar_subquery()
)
_INSERT_CHECKOUT = Checkout.__table__.insert().returning(Checkout.__table__.c.id)
_INSERT_ORDER = Order.__table__.insert().returning(Order.__table__.c.id)
_INSERT_LINES = OrderLine.__table__.insert()
_INSERT_EVENT = OrderEvent.__table__.insert()
# The lines ordered, by id: on PostgreSQL a line added meanwhile stays in the cart.
_DELETE_LINES = CartLine.__table__.delete().where(CartLine.__table__.c.id.in_(bindparam("line_ids", expanding=True)))
_TOUCH_CART = Cart.__table__.update().where(Cart.__table__.c.id == bindparam("cart_id")).values(updated_at=bindparam("now"))
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
    try:
        with atomic(session):
            earlier = _find_by_key(session, key)
            if earlier is not None:
                return _same_buyer(earlier, buyer_id)
            return _place(session, buyer_id=buyer_id, cart_id=cart_id, address_id=address_id, key=key, now=now,
                          expiry_minutes=expiry_minutes, payment_provider=payment_provider)
    except IntegrityError:
        # PostgreSQL: a concurrent request with the same key committed first (the unique index made
        # us wait for it, then refused our row). Ours rolled back, stock included; return theirs.
        session.rollback()
        earlier = _find_by_key(session, key)
        if earlier is None:
            raise
        return _same_buyer(earlier, buyer_id)


def _place(session: Session, *, buyer_id: int, cart_id: int | None, address_id: int, key: str, now: datetime,
           expiry_minutes: int, payment_provider: str) -> Checkout:
    address = get_address(session, user_id=buyer_id, address_id=address_id)
    if cart_id is not None:
        rows = session.exec(_LINES_OF_CART, params={"cart_id": cart_id, "buyer_id": buyer_id}).all()
        if not rows:
            cart = session.exec(_CART, params={"cart_id": cart_id}).first()
            raise NotFound() if cart is None or cart.owner_id != buyer_id else EmptyCart()
    else:
        rows = session.exec(_LINES_OF_BUYER, params={"buyer_id": buyer_id}).all()
        if not rows:
            raise EmptyCart()
    cart_id = rows[0][0].cart_id
    by_shop: dict[int, list[tuple[CartLine, Product]]] = {}
    shops: dict[int, Shop] = {}
    for line, product, shop in rows:
        by_shop.setdefault(shop.id, []).append((line, product))
        shops[shop.id] = shop
    # Totals come from the product rows read here, in this transaction.
    order_totals = {shop_id: sum(product.price_fen * line.quantity for line, product in lines)
                    for shop_id, lines in by_shop.items()}
    # Rows are written with plain statements on the connection (the session's unit of work would cost
    # several times the statements); the checkout, which callers get back, joins the session as loaded.
    connection = session.connection()
    values = dict(
        buyer_id=buyer_id, idempotency_key=key, total_fen=sum(order_totals.values()), status=PENDING_PAYMENT,
        payment_provider=payment_provider, expires_at=now + timedelta(minutes=expiry_minutes), paid_at=None,
        created_at=now,
    )
    # The unique key is claimed here, before any stock is taken.
    checkout = adopt(session, Checkout(id=connection.execute(_INSERT_CHECKOUT, values).scalar_one(), **values))
    for line, product, _shop in rows:
        _take_stock(session, product, line.quantity)
    for index, (shop_id, lines) in enumerate(sorted(by_shop.items()), start=1):
        order_id = connection.execute(
            _INSERT_ORDER, _order_row(checkout, shop_id, address, index=index, total_fen=order_totals[shop_id], now=now)
        ).scalar_one()
        connection.execute(_INSERT_LINES, [_line_row(session, order_id, line, product, shops[shop_id], buyer_id)
                                        for line, product in lines])
        connection.execute(_INSERT_EVENT, {"order_id": order_id, "from_status": None, "to_status": PENDING_PAYMENT,
                                        "actor_id": buyer_id, "note": "下单 · order placed", "created_at": now})
    connection.execute(_DELETE_LINES, {"line_ids": [line.id for line, _product, _shop in rows]})
    connection.execute(_TOUCH_CART, {"cart_id": cart_id, "now": now})
    for line, _product, _shop in rows:
        session.expunge(line)
    expire_loaded(session, Cart, cart_id, "updated_at")
    return checkout


def _take_stock(session: Session, product: Product, quantity: int) -> None:
    if product.status != PRODUCT_ACTIVE:
        raise ProductUnavailable()
    taken = session.execute(_TAKE_STOCK, {"product_id": product.id, "quantity": quantity}).rowcount
    _forget_stock(session, product.id)
    if taken != 1:
        left = session.execute(select(Product.stock).where(Product.id == product.id)).scalar_one()
        if left <= 0:
            raise OutOfStock(product.title, title=product.title)
        raise NotEnoughStock(title=product.title, available=left)


def _order_row(checkout: Checkout, shop_id: int, address: Address, *, index: int, total_fen: int, now: datetime) -> dict:
    return dict(
        # Unique because the checkout id is: ZC + date + checkout id + the shop's place in the checkout.
        number=f"ZC{now:%y%m%d}{checkout.id:07d}{index:02d}",
        checkout_id=checkout.id, buyer_id=checkout.buyer_id, shop_id=shop_id, status=PENDING_PAYMENT,
        total_fen=total_fen, recipient=address.recipient, mobile=address.mobile, province=address.province,
        city=address.city, district=address.district, address_detail=address.detail, created_at=now, updated_at=now,
    )


def _line_row(session: Session, order_id: int, line: CartLine, product: Product, shop: Shop, buyer_id: int) -> dict:
    # Self-referral and own-shop purchases are stripped here too: an anonymous cart's buyer was unknown at add time.
    eligible = attribution.is_eligible(
        session, beneficiary_id=line.beneficiary_id, buyer_id=buyer_id, shop_owner_id=shop.owner_id
    )
    return dict(
        order_id=order_id,
        product_id=product.id,
        title=product.title[:120],
        unit_price_fen=product.price_fen,
        quantity=line.quantity,
        line_total_fen=product.price_fen * line.quantity,
        commission_bp=product.commission_bp,
        beneficiary_id=line.beneficiary_id if eligible else None,
        attribution_source=line.attribution_source if eligible else None,
        attribution_ref=line.attribution_ref if eligible else None,
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
