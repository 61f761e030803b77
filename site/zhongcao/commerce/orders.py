"""The order state machine (issue 4 §4): ship, confirm receipt, complete, cancel; and reading orders.

    pending_payment ──pay──▶ paid ──ship──▶ shipped ──receive──▶ received ──window closes──▶ completed
          │                   │
          └─buyer / expiry─▶ cancelled ◀─merchant (whole order refunded)─┘

Paying is commerce.payments' move (`mark_checkout_paid`); refunds, per line and partial, live in
commerce/refunds.py and never change the order's status. Every move here is one transaction that
re-checks the status with a conditional UPDATE (`… WHERE status = <from>`), so two people or two
`run-due` processes can never make the same move twice, and writes an OrderEvent with its time and
actor (None for the system). Illegal moves raise IllegalTransition.

Who may do what: only the order's shop owner ships or cancels a paid order; only the buyer confirms
receipt or cancels an unpaid one. Anyone else gets OrderNotFound, so order numbers leak nothing.

A buyer cancelling an unpaid order cancels the whole checkout (one payment covers every shop's
order in it) and gives all its stock back. A merchant may cancel a paid order before shipping: every
line is refunded in full (ledger.record_refund), its stock is given back, and open refund requests
on it are settled as refunded. A merchant cannot cancel an unpaid order: it expires on its own.

Notifications and mail run after the commit and never undo a move. Mail is composed by whoever
passes `announce` (the web layer and the CLI render a template per notice kind): domain code knows
nothing of Flask.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.catalog.models import Product, Shop
from zhongcao.clock import utcnow
from zhongcao.commerce import cart, checkout
from zhongcao.commerce.models import (
    CANCELLED,
    COMPLETED,
    PAID,
    PENDING_PAYMENT,
    RECEIVED,
    SHIPPED,
    CartLine,
    Order,
    OrderEvent,
    OrderLine,
    RefundRequest,
)
from zhongcao.config import Defaults
from zhongcao.db import atomic, expire_loaded
from zhongcao.errors import Conflict, DomainError, InvalidInput, NotFound
from zhongcao.plainsql import PlainQuery, PlainSavepoint
from zhongcao.social import notifications

log = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING_PAYMENT: frozenset({PAID, CANCELLED}),
    PAID: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({RECEIVED}),
    RECEIVED: frozenset({COMPLETED}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}
REFUND_REQUESTED = "requested"
REFUND_REFUNDED = "refunded"
REFUND_REJECTED = "rejected"
CARRIER_MAX = 40
TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9-]{6,40}$")
PER_PAGE = 20


class OrderNotFound(NotFound):
    code = "order_not_found"


class IllegalTransition(Conflict):
    """The order's status does not allow the move; the detail reads "from → to"."""

    code = "illegal_transition"

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"{from_status} → {to_status}", from_status=from_status, to_status=to_status)
        self.from_status = from_status
        self.to_status = to_status


@dataclass(frozen=True)
class OrderNotice:
    """One message about an order change for one person; the web layer renders it as mail."""

    kind: str  # one of social.notifications.ORDER_KINDS
    order_number: str
    recipient_email: str
    recipient_name: str
    details: dict = field(default_factory=dict)


Announce = Callable[[OrderNotice], object]


@dataclass(frozen=True)
class TimelineEntry:
    event: OrderEvent
    actor_handle: str | None  # None: the system (expiry, auto-receive, completion)


@dataclass(frozen=True)
class LineDetail:
    line: OrderLine
    product_slug: str | None
    refunds: list[RefundRequest]

    @property
    def pending_quantity(self) -> int:
        return sum(r.quantity for r in self.refunds if r.status == REFUND_REQUESTED)

    @property
    def refundable_quantity(self) -> int:
        """How many units the buyer may still ask to be refunded."""
        return self.line.quantity - self.line.refunded_quantity - self.pending_quantity


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    shop: Shop
    buyer: User
    lines: list[LineDetail]
    timeline: list[TimelineEntry]
    is_buyer: bool
    is_merchant: bool
    is_admin: bool
    now: datetime

    @property
    def refund_window_open(self) -> bool:
        """Whether the buyer may still ask for refunds (paid, shipped, or received inside the window)."""
        return refunds_allowed(self.order, now=self.now)

    @property
    def open_refunds(self) -> list[tuple[LineDetail, RefundRequest]]:
        return [(ld, r) for ld in self.lines for r in ld.refunds if r.status == REFUND_REQUESTED]


@dataclass(frozen=True)
class OrderSummary:
    order: Order
    shop: Shop
    lines: list[OrderLine]
    buyer_handle: str = ""
    open_refunds: int = 0

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class OrderPage:
    items: list[OrderSummary]
    page: int
    has_next: bool


def ship_order(
    session: Session,
    *,
    order_id: int,
    actor_id: int,
    carrier: str,
    tracking_number: str,
    now: datetime | None = None,
    announce: Announce | None = None,
) -> Order:
    """Mark a paid order shipped with its carrier and tracking number; only its shop's owner may.

    Raises OrderNotFound, InvalidInput (carrier_required, carrier_too_long, tracking_number_invalid)
    or IllegalTransition.
    """
    now = now or utcnow()
    carrier = " ".join((carrier or "").split())
    tracking_number = "".join((tracking_number or "").split()).upper()
    if not carrier:
        raise InvalidInput(field="carrier", code="carrier_required")
    if len(carrier) > CARRIER_MAX:
        raise InvalidInput(field="carrier", code="carrier_too_long")
    if not TRACKING_NUMBER.match(tracking_number):
        raise InvalidInput(field="tracking_number", code="tracking_number_invalid")
    with atomic(session):
        order = _get_order(session, order_id)
        _require_shop_owner(session, order, actor_id)
        move(session, order, SHIPPED, actor_id=actor_id, now=now, note=f"{carrier} {tracking_number}",
             carrier=carrier, tracking_number=tracking_number, shipped_at=now)
    notify(session, kind=notifications.ORDER_SHIPPED, order=order, recipient_id=order.buyer_id, actor_id=actor_id,
          now=now, announce=announce, carrier=carrier, tracking_number=tracking_number)
    return order


def confirm_receipt(
    session: Session,
    *,
    order_id: int,
    buyer_id: int,
    now: datetime | None = None,
    return_window_days: int | None = None,
) -> Order:
    """The buyer confirms a shipped order arrived; the return window starts now. Raises OrderNotFound or IllegalTransition."""
    now = now or utcnow()
    with atomic(session):
        order = _get_order(session, order_id)
        if order.buyer_id != buyer_id:
            raise OrderNotFound()
        _receive(session, order, received_at=now, actor_id=buyer_id, now=now,
                 return_window_days=return_window_days, note="买家确认收货 · Buyer confirmed receipt")
    return order


def receive_automatically(
    session: Session,
    *,
    order_id: int,
    now: datetime | None = None,
    auto_receive_days: int | None = None,
    return_window_days: int | None = None,
) -> Order:
    """Mark a shipped order received by the system once AUTO_RECEIVE_DAYS have passed since shipping.

    It counts as received at the due time, not when this runs, so a late run-due never lengthens the
    return window. Raises OrderNotFound, IllegalTransition, or Conflict (not_due) when it is too early.
    """
    now = now or utcnow()
    days = Defaults.AUTO_RECEIVE_DAYS if auto_receive_days is None else auto_receive_days
    with atomic(session):
        order = _get_order(session, order_id)
        if order.status != SHIPPED:
            raise IllegalTransition(order.status, RECEIVED)
        due_at = order.shipped_at + timedelta(days=days)
        if due_at > now:
            raise Conflict(code="not_due")
        _receive(session, order, received_at=due_at, actor_id=None, now=now, return_window_days=return_window_days,
                 note=f"发货 {days} 天后自动确认收货 · Received automatically {days} days after shipping")
    return order


def complete_order(session: Session, *, order_id: int, now: datetime | None = None) -> Order:
    """Complete a received order whose return window has closed and confirm its commissions (system move).

    Open refund requests stay decidable afterwards; the ledger books those as adjustments.
    Raises OrderNotFound, IllegalTransition, or Conflict (return_window_open) when it is too early.
    """
    from zhongcao.ledger import ledger

    now = now or utcnow()
    with atomic(session):
        order = _get_order(session, order_id)
        if order.status != RECEIVED:
            raise IllegalTransition(order.status, COMPLETED)
        if order.return_window_ends_at is None or order.return_window_ends_at > now:
            raise Conflict(code="return_window_open")
        move(session, order, COMPLETED, actor_id=None, now=now, completed_at=now,
             note="退货期结束，订单完成 · Return window closed; order completed")
        ledger.confirm_order_commissions(session, order_id=order.id, now=now)
    return order


def cancel_order(
    session: Session,
    *,
    order_id: int,
    actor_id: int,
    reason: str = "",
    now: datetime | None = None,
    announce: Announce | None = None,
) -> Order:
    """Cancel an order: the buyer before payment (the whole checkout), or the merchant before shipping (refunded in full).

    Raises OrderNotFound or IllegalTransition.
    """
    now = now or utcnow()
    reason = " ".join((reason or "").split())[:200]
    with atomic(session):
        order = _get_order(session, order_id)
        shop = session.get(Shop, order.shop_id)
        if shop.owner_id == actor_id and order.status != PENDING_PAYMENT:
            if order.status != PAID:
                raise IllegalTransition(order.status, CANCELLED)
            _cancel_paid(session, order, actor_id=actor_id, now=now, reason=reason)
            by_merchant = True
        elif order.buyer_id == actor_id:
            if order.status != PENDING_PAYMENT:
                raise IllegalTransition(order.status, CANCELLED)
            # One payment covers every shop's order in the checkout, so the whole checkout goes.
            checkout.cancel_checkout(session, checkout_id=order.checkout_id, buyer_id=actor_id, now=now)
            session.refresh(order)
            by_merchant = False
        elif shop.owner_id == actor_id:
            raise IllegalTransition(order.status, CANCELLED)  # unpaid orders expire on their own
        else:
            raise OrderNotFound()
    if by_merchant:
        notify(session, kind=notifications.ORDER_CANCELLED, order=order, recipient_id=order.buyer_id,
              actor_id=actor_id, now=now, announce=announce, reason=reason, refunded_fen=order.total_fen)
    return order


@dataclass(frozen=True)
class PaidOrder:
    """One order of a checkout just paid, with what its shop owner's notice needs."""

    number: str
    total_fen: int
    buyer_id: int
    owner_id: int
    email: str
    display_name: str
    handle: str
    is_active: bool
    first_product_id: int | None


# The columns of PaidOrder, for a query over shop_order joined to its shop and the shop's owner.
PAID_ORDER_COLUMNS = (
    Order.number, Order.total_fen, Order.buyer_id, User.id.label("owner_id"), User.email, User.display_name,
    User.handle, User.is_active,
)
_NOTICES_SAVEPOINT = PlainSavepoint("zc_order_notices")
_PAID_ORDERS_WITH_OWNERS = PlainQuery(
    select(
        *PAID_ORDER_COLUMNS,
        select(OrderLine.product_id).where(OrderLine.order_id == Order.id).order_by(OrderLine.id).limit(1)
        .scalar_subquery().label("first_product_id"),
    )
    .join(Shop, Shop.id == Order.shop_id)
    .join(User, User.id == Shop.owner_id)
    .where(Order.checkout_id == bindparam("checkout_id"), Order.status == PAID)
    .order_by(Order.id)
)


def notify_checkout_paid(session: Session, *, checkout_id: int, now: datetime | None = None,
                         announce: Announce | None = None) -> None:
    """Tell each shop owner that their order in a just-paid checkout waits to be shipped (call after the
    payment commits); a failure is logged, never raised."""
    with atomic(session):
        notices = record_paid_notices(session, checkout_id=checkout_id, now=now)
    send_notices(notices, announce)


def record_paid_notices(session: Session, *, checkout_id: int, now: datetime | None = None,
                        paid: list[PaidOrder] | None = None) -> list[OrderNotice]:
    """Inside the paying transaction: write each shop owner's in-app notice that their order of the
    checkout waits to be shipped, and return the mails to send once it commits (send_notices).

    `paid` is the checkout's orders when the caller has read them already (the payment reads them with
    its lines); otherwise they are read here. The notices are written in a savepoint: should that
    fail, it is logged and the payment still commits.
    """
    now = now or utcnow()
    try:
        session.flush()  # the savepoint below is the driver's: the session must hold nothing unwritten
        # A savepoint on the driver's connection, not the session's nor SQLAlchemy's Connection's:
        # nothing in it is an ORM object, and either of those cost more than the statements in it.
        with _NOTICES_SAVEPOINT.around(session):
            if paid is None:
                paid = [PaidOrder(**row._asdict()) for row in _PAID_ORDERS_WITH_OWNERS.rows(session, checkout_id=checkout_id)]
            for order in paid:
                notifications.notify_order_change(
                    session, kind=notifications.ORDER_PAID, recipient_id=order.owner_id, order_number=order.number,
                    actor_id=order.buyer_id, product_id=order.first_product_id, now=now,
                )
    except Exception:  # a lost notification must not fail the payment it is about
        log.exception("could not notify the shops of checkout %s that it was paid", checkout_id)
        return []
    return [
        OrderNotice(kind=notifications.ORDER_PAID, order_number=order.number, recipient_email=order.email,
                    recipient_name=order.display_name or order.handle, details={"total_fen": order.total_fen})
        for order in paid
        if order.is_active and order.owner_id != order.buyer_id  # never mail anyone about their own purchase
    ]


def send_notices(notices: list[OrderNotice], announce: Announce | None) -> None:
    """Hand each notice to `announce` (after the commit they describe); a failure is logged, never raised."""
    if announce is None:
        return
    for notice in notices:
        try:
            announce(notice)
        except Exception:  # a lost mail must not turn a committed order change into an error page
            log.exception("could not mail %s about order %s (%s)", notice.recipient_email, notice.order_number, notice.kind)


def move(session: Session, order: Order, to_status: str, *, actor_id: int | None, now: datetime, note: str = "",
         **values: object) -> OrderEvent:
    """Change the order's status with a conditional UPDATE and record the event. Raises IllegalTransition."""
    from_status = order.status
    if to_status not in TRANSITIONS.get(from_status, ()):
        raise IllegalTransition(from_status, to_status)
    changed = session.exec(
        update(Order)
        .where(Order.id == order.id, Order.status == from_status)
        .values(status=to_status, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        # Someone else moved it first (another request or run-due): report what it is now.
        session.refresh(order)
        raise IllegalTransition(order.status, to_status)
    session.refresh(order)
    return record_event(session, order=order, from_status=from_status, to_status=to_status, actor_id=actor_id,
                        now=now, note=note)


def record_event(session: Session, *, order: Order, from_status: str | None, to_status: str, actor_id: int | None,
                 now: datetime, note: str = "") -> OrderEvent:
    """Append one event to the order's timeline (refunds record events whose status does not change)."""
    event = OrderEvent(order_id=order.id, from_status=from_status, to_status=to_status, actor_id=actor_id,
                       note=note, created_at=now)
    session.add(event)
    session.flush()
    return event


def give_back_stock(session: Session, *, product_id: int, quantity: int) -> None:
    """Add units back to a product's stock. Callers guard it with their own conditional UPDATE, so it runs once."""
    if quantity <= 0:
        return
    session.exec(
        update(Product).where(Product.id == product_id).values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    expire_loaded(session, Product, product_id, "stock")


def notify(session: Session, *, kind: str, order: Order, recipient_id: int, actor_id: int | None, now: datetime,
          announce: Announce | None, **details: object) -> None:
    """Write the in-app notification and hand the mail to `announce`; a failure here is logged, never raised."""
    try:
        first_product = session.exec(
            select(OrderLine.product_id).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        ).first()
        notifications.notify_order_change(session, kind=kind, recipient_id=recipient_id, order_number=order.number,
                                          actor_id=actor_id, product_id=first_product, now=now)
        if announce is None or recipient_id == actor_id:
            return
        recipient = session.get(User, recipient_id)
    except Exception:  # a lost notification must not turn a committed order change into an error page
        log.exception("could not notify user %s about order %s (%s)", recipient_id, order.number, kind)
        return
    if recipient is not None and recipient.is_active:
        send_notices([OrderNotice(kind=kind, order_number=order.number, recipient_email=recipient.email,
                                  recipient_name=recipient.display_name or recipient.handle, details=dict(details))],
                     announce)


def refunds_allowed(order: Order, *, now: datetime) -> bool:
    """Buyers may ask for refunds once paid and until the return window closes (received + RETURN_WINDOW_DAYS)."""
    if order.status in (PAID, SHIPPED):
        return True
    return order.status == RECEIVED and order.return_window_ends_at is not None and now < order.return_window_ends_at


def get_order_by_number(session: Session, number: str) -> Order:
    order = session.exec(select(Order).where(Order.number == (number or "").strip().upper())).first()
    if order is None:
        raise OrderNotFound()
    return order


def can_view(session: Session, order: Order, viewer_id: int | None) -> bool:
    """Buyers see their own orders, merchants their shop's, admins every order."""
    if viewer_id is None:
        return False
    if order.buyer_id == viewer_id:
        return True
    if session.exec(select(Shop.owner_id).where(Shop.id == order.shop_id)).one() == viewer_id:
        return True
    viewer = session.get(User, viewer_id)
    return bool(viewer and viewer.is_admin)


def get_order_detail(session: Session, *, number: str, viewer_id: int | None, now: datetime | None = None) -> OrderDetail:
    """An order with its lines, refunds and timeline, for its buyer, its shop's owner or an admin. Raises OrderNotFound."""
    now = now or utcnow()
    order = get_order_by_number(session, number)
    session.refresh(order)
    if not can_view(session, order, viewer_id):
        raise OrderNotFound()
    shop = session.get(Shop, order.shop_id)
    buyer = session.get(User, order.buyer_id)
    viewer = session.get(User, viewer_id)
    rows = session.exec(
        select(OrderLine, Product.slug).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id).order_by(OrderLine.id)
    ).all()
    refunds_by_line: dict[int, list[RefundRequest]] = {}
    line_ids = [line.id for line, _slug in rows]
    for refund in session.exec(
        select(RefundRequest).where(RefundRequest.order_line_id.in_(line_ids)).order_by(RefundRequest.id)
    ).all():
        refunds_by_line.setdefault(refund.order_line_id, []).append(refund)
    for line, _slug in rows:
        session.refresh(line)
    lines = [LineDetail(line=line, product_slug=slug, refunds=refunds_by_line.get(line.id, [])) for line, slug in rows]
    events = session.exec(
        select(OrderEvent, User.handle).outerjoin(User, User.id == OrderEvent.actor_id)
        .where(OrderEvent.order_id == order.id).order_by(OrderEvent.created_at, OrderEvent.id)
    ).all()
    return OrderDetail(
        order=order, shop=shop, buyer=buyer, lines=lines,
        timeline=[TimelineEntry(event=event, actor_handle=handle) for event, handle in events],
        is_buyer=order.buyer_id == viewer_id, is_merchant=shop.owner_id == viewer_id,
        is_admin=bool(viewer and viewer.is_admin), now=now,
    )


def list_buyer_orders(session: Session, *, buyer_id: int, page: int = 1, per_page: int = PER_PAGE) -> OrderPage:
    """The buyer's orders, newest first, one page of them."""
    query = select(Order).where(Order.buyer_id == buyer_id)
    return _order_page(session, query, page=page, per_page=per_page)


SHOP_TABS = ("to_ship", "shipped", "refunds", "all")


def list_shop_orders(session: Session, *, shop_id: int, tab: str = "to_ship", page: int = 1,
                     per_page: int = PER_PAGE) -> OrderPage:
    """A shop's orders for one tab of the merchant queue: to ship (oldest first), shipped, with open refunds, or all."""
    query = select(Order).where(Order.shop_id == shop_id)
    oldest_first = False
    if tab == "to_ship":
        query, oldest_first = query.where(Order.status == PAID), True
    elif tab == "shipped":
        query = query.where(Order.status == SHIPPED)
    elif tab == "refunds":
        open_refund = (
            select(RefundRequest.id).join(OrderLine, OrderLine.id == RefundRequest.order_line_id)
            .where(OrderLine.order_id == Order.id, RefundRequest.status == REFUND_REQUESTED).exists()
        )
        query, oldest_first = query.where(open_refund), True
    return _order_page(session, query, page=page, per_page=per_page, oldest_first=oldest_first)


def count_shop_queue(session: Session, *, shop_id: int) -> dict[str, int]:
    """How many orders wait in the merchant's "to ship" tab and how many refund requests are open."""
    to_ship = session.exec(
        select(func.count()).select_from(Order).where(Order.shop_id == shop_id, Order.status == PAID)
    ).one()
    refunds = session.exec(
        select(func.count()).select_from(RefundRequest)
        .join(OrderLine, OrderLine.id == RefundRequest.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.shop_id == shop_id, RefundRequest.status == REFUND_REQUESTED)
    ).one()
    return {"to_ship": to_ship, "refunds": refunds}


def get_order_summary(session: Session, *, order_id: int, owner_id: int) -> OrderSummary:
    """One order of the owner's shop as the merchant queue shows it. Raises OrderNotFound."""
    shop_id = session.exec(select(Shop.id).where(Shop.owner_id == owner_id)).first()
    page = _order_page(session, select(Order).where(Order.id == order_id, Order.shop_id == shop_id), page=1, per_page=1)
    if not page.items:
        raise OrderNotFound()
    return page.items[0]


def _order_page(session: Session, query, *, page: int, per_page: int, oldest_first: bool = False) -> OrderPage:
    page = max(1, min(page, 10_000))
    order_by = (Order.created_at, Order.id) if oldest_first else (Order.created_at.desc(), Order.id.desc())
    orders = session.exec(query.order_by(*order_by).offset((page - 1) * per_page).limit(per_page + 1)).all()
    shown = orders[:per_page]
    ids = [order.id for order in shown]
    lines: dict[int, list[OrderLine]] = {}
    for line in session.exec(select(OrderLine).where(OrderLine.order_id.in_(ids)).order_by(OrderLine.id)).all():
        lines.setdefault(line.order_id, []).append(line)
    shops = {shop.id: shop for shop in session.exec(select(Shop).where(Shop.id.in_({o.shop_id for o in shown}))).all()}
    handles = dict(session.exec(select(User.id, User.handle).where(User.id.in_({o.buyer_id for o in shown}))).all())
    open_refunds = dict(session.exec(
        select(OrderLine.order_id, func.count(RefundRequest.id))
        .join(RefundRequest, RefundRequest.order_line_id == OrderLine.id)
        .where(OrderLine.order_id.in_(ids), RefundRequest.status == REFUND_REQUESTED)
        .group_by(OrderLine.order_id)
    ).all())
    items = [
        OrderSummary(order=o, shop=shops[o.shop_id], lines=lines.get(o.id, []), buyer_handle=handles.get(o.buyer_id, ""),
                     open_refunds=open_refunds.get(o.id, 0))
        for o in shown
    ]
    return OrderPage(items=items, page=page, has_next=len(orders) > per_page)


def list_reorderable_lines(session: Session, *, number: str, buyer_id: int) -> list[OrderLine]:
    """The lines of the buyer's order, for "buy again". Raises OrderNotFound for anyone else's order."""
    order = get_order_by_number(session, number)
    if order.buyer_id != buyer_id:
        raise OrderNotFound()
    return list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all())


@dataclass(frozen=True)
class BuyAgainResult:
    added: list[str]  # titles put back in the cart
    skipped: list[tuple[str, DomainError]]  # titles that could not be, and why


def buy_again(session: Session, *, number: str, buyer_id: int, now: datetime | None = None) -> BuyAgainResult:
    """Put the products of one of the buyer's orders back in their cart (复购), as many as are in stock.

    Attribution is not copied: commission follows a new click, never an old order. Raises OrderNotFound.
    """
    now = now or utcnow()
    lines = list_reorderable_lines(session, number=number, buyer_id=buyer_id)
    own_cart = cart.open_cart(session, owner_id=buyer_id)
    result = BuyAgainResult(added=[], skipped=[])
    for line in lines:
        quantity = min(line.quantity, cart.MAX_LINE_QUANTITY)
        try:
            try:
                cart.add_to_cart(session, cart_id=own_cart.id, product_id=line.product_id, quantity=quantity,
                                 buyer_id=buyer_id, now=now)
            except cart.NotEnoughStock as short:
                in_cart = session.exec(select(CartLine.quantity).where(
                    CartLine.cart_id == own_cart.id, CartLine.product_id == line.product_id)).first() or 0
                if short.available - in_cart < 1:
                    raise
                cart.add_to_cart(session, cart_id=own_cart.id, product_id=line.product_id,
                                 quantity=short.available - in_cart, buyer_id=buyer_id, now=now)
        except DomainError as error:
            result.skipped.append((line.title, error))
        else:
            result.added.append(line.title)
    return result


def _get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound()
    session.refresh(order)  # inside the write transaction: what another writer committed counts
    return order


def _require_shop_owner(session: Session, order: Order, actor_id: int) -> None:
    if session.exec(select(Shop.owner_id).where(Shop.id == order.shop_id)).one() != actor_id:
        raise OrderNotFound()


def _receive(session: Session, order: Order, *, received_at: datetime, actor_id: int | None, now: datetime,
             return_window_days: int | None, note: str) -> None:
    days = Defaults.RETURN_WINDOW_DAYS if return_window_days is None else return_window_days
    move(session, order, RECEIVED, actor_id=actor_id, now=now, note=note, received_at=received_at,
         return_window_ends_at=received_at + timedelta(days=days))


def _cancel_paid(session: Session, order: Order, *, actor_id: int, now: datetime, reason: str) -> None:
    from zhongcao.ledger import ledger

    move(session, order, CANCELLED, actor_id=actor_id, now=now, cancelled_at=now,
         note=reason or "商家取消并全额退款 · Cancelled by the merchant and refunded in full")
    session.exec(
        update(RefundRequest)
        .where(RefundRequest.order_line_id.in_(select(OrderLine.id).where(OrderLine.order_id == order.id)),
               RefundRequest.status == REFUND_REQUESTED)
        .values(status=REFUND_REFUNDED, decided_by_id=actor_id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all():
        session.refresh(line)
        quantity = line.quantity - line.refunded_quantity
        amount = line.line_total_fen - line.refunded_fen
        if quantity <= 0 and amount <= 0:
            continue
        session.exec(
            update(OrderLine).where(OrderLine.id == line.id)
            .values(refunded_quantity=line.quantity, refunded_fen=line.line_total_fen)
            .execution_options(synchronize_session=False)
        )
        give_back_stock(session, product_id=line.product_id, quantity=quantity)
        if amount > 0:
            ledger.record_refund(session, order_line_id=line.id, amount_fen=amount, now=now)
