"""Payment providers, and `mark_checkout_paid`: how a checkout becomes paid.

The provider interface is small on purpose. A provider has a `name` and a `label`, and

    start_payment(session, *, checkout, success_url, cancel_url, now=None) -> str

returns the URL to send the buyer to. How the provider later proves the payment is its own
business: the sandbox confirms on its own page (`SandboxProvider.confirm`), Stripe through a signed
webhook (commerce/stripe_provider.py), which ends in `mark_checkout_paid`. Both claim the checkout
with a conditional UPDATE on its status, so a payment is booked once however often it is confirmed,
and then book it the same way (`_book`: payment row, orders paid with their events, ledger).

Providers are looked up by name with `get_provider(name, config=...)` (PAYMENT_PROVIDER picks the
site's provider). The sandbox moves no money and is refused when ZHONGCAO_ENV=production.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.catalog.models import Shop
from zhongcao.clock import utcnow
from zhongcao.commerce.checkout import INSERT_ORDER_EVENT, CheckoutExpired
from zhongcao.commerce.models import PAID, PENDING_PAYMENT, Checkout, Order, OrderLine, Payment
from zhongcao.commerce.orders import (
    PAID_ORDER_COLUMNS,
    Announce,
    OrderNotice,
    PaidOrder,
    record_paid_notices,
    send_notices,
)
from zhongcao.config import is_production
from zhongcao.db import adopt, atomic, expire_loaded
from zhongcao.errors import DomainError, InvalidInput, NotFound
from zhongcao.ledger import ledger
from zhongcao.plainsql import PlainQuery, plain_insert

SANDBOX = "sandbox"
STRIPE = "stripe"
SANDBOX_PAY_PATH = "/pay/sandbox/{checkout_id}"


class PaymentProvider(Protocol):
    name: str
    label: str

    def start_payment(
        self, session: Session, *, checkout: Checkout, success_url: str, cancel_url: str, now: datetime | None = None,
    ) -> str:
        """The URL where the buyer pays for `checkout`."""


class UnknownProvider(DomainError):
    code = "payment_provider_unknown"


class SandboxRefused(DomainError):
    """The sandbox takes no money, so a production site must never offer it."""

    code = "sandbox_refused"


class PaymentMismatch(DomainError):
    """The amount paid is not the checkout's total."""

    code = "payment_mismatch"


class SandboxProvider:
    """Pretend payments for local use and the demo: a page of ours with Pay and Cancel buttons."""

    name = SANDBOX
    label = "沙箱支付 · Sandbox payment (no real money)"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if is_production(dict(config or {})):
            raise SandboxRefused()

    def start_payment(
        self, session: Session, *, checkout: Checkout, success_url: str = "", cancel_url: str = "", now: datetime | None = None,
    ) -> str:
        """Our own sandbox page for the checkout (success and cancel URLs are not needed: it is our page)."""
        return SANDBOX_PAY_PATH.format(checkout_id=checkout.id)

    def confirm(self, session: Session, *, checkout_id: int, buyer_id: int, now: datetime | None = None,
                announce: Announce | None = None) -> Checkout:
        """The buyer pressed Pay on the sandbox page: the checkout is paid in full.

        Once the payment commits, each shop owner hears that their order waits to be shipped (in-app,
        and by mail through `announce`); a repeated click pays and tells nobody again.
        Raises NotFound (not the buyer's checkout), CheckoutExpired (cancelled or expired).
        """
        now = now or utcnow()
        notices: list[OrderNotice] = []
        with atomic(session):
            # The usual case in one statement: the buyer's unpaid checkout, claimed as paid in full.
            claimed = _CLAIM_OWN.write_returning(session, own_checkout_id=checkout_id, own_buyer_id=buyer_id, paid_time=now)
            if claimed is None:
                checkout = session.exec(_FRESH_CHECKOUT, params={"checkout_id": checkout_id}).first()
                if checkout is None or checkout.buyer_id != buyer_id:
                    raise NotFound()
                if checkout.status != PAID:
                    raise CheckoutExpired()
            else:
                checkout = adopt(session, Checkout(**claimed._asdict()))
                notices = _book(session, checkout, provider=SANDBOX, provider_ref=f"sandbox-{checkout.id}",
                                amount_fen=checkout.total_fen, now=now, actor_id=buyer_id)
        send_notices(notices, announce)
        return checkout


def _stripe_factory(config: Mapping[str, Any]) -> PaymentProvider:
    from zhongcao.commerce import stripe_provider

    return stripe_provider.StripeProvider(stripe_provider.settings_from(config))


_FACTORIES: dict[str, Callable[[Mapping[str, Any]], PaymentProvider]] = {
    SANDBOX: SandboxProvider,
    STRIPE: _stripe_factory,
}


def get_provider(name: str, *, config: Mapping[str, Any]) -> PaymentProvider:
    """The provider called `name`, set up from the app's configuration.

    Raises UnknownProvider, or SandboxRefused for the sandbox in production.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UnknownProvider(name)
    return factory(config)


# Built once: paying runs each of these (see cart.py).
_FRESH_CHECKOUT = select(Checkout).where(Checkout.id == bindparam("checkout_id")).execution_options(populate_existing=True)
_CLAIM = (
    update(Checkout)
    .where(Checkout.id == bindparam("checkout_id"), Checkout.status == PENDING_PAYMENT)
    .values(status=PAID, paid_at=bindparam("paid_time"), payment_provider=bindparam("provider_name"))
    .execution_options(synchronize_session=False)
)
_CHECKOUTS = Checkout.__table__
_CLAIM_OWN = PlainQuery(
    _CHECKOUTS.update()
    .where(_CHECKOUTS.c.id == bindparam("own_checkout_id"), _CHECKOUTS.c.buyer_id == bindparam("own_buyer_id"),
           _CHECKOUTS.c.status == PENDING_PAYMENT)
    .values(status=PAID, paid_at=bindparam("paid_time"), payment_provider=SANDBOX)
    .returning(*_CHECKOUTS.c)
)
# The lines the ledger books, each with its order's shop owner for the notice (PaidOrder), in one query.
_UNPAID_LINES = PlainQuery(
    select(
        *ledger.PAID_LINE_COLUMNS, OrderLine.product_id, *(column.label(f"paid_{column.key}") for column in PAID_ORDER_COLUMNS)
    )
    .join(OrderLine, OrderLine.order_id == Order.id)
    .join(Shop, Shop.id == Order.shop_id)
    .join(User, User.id == Shop.owner_id)
    .where(Order.checkout_id == bindparam("checkout_id"), Order.status == PENDING_PAYMENT)
    .order_by(Order.id, OrderLine.id)
)
_PAID_LINE_FIELDS = tuple(field.name for field in dataclasses.fields(ledger.PaidLine))
_PAID_ORDER_FIELDS = tuple(field.name for field in dataclasses.fields(PaidOrder) if field.name != "first_product_id")
# Orders, events and the payment row are written with plain statements on the connection: nothing
# here needs them as objects afterwards, and the session's unit of work costs several times the statements.
_PAY_ORDERS = PlainQuery(
    update(Order.__table__)
    .where(Order.checkout_id == bindparam("paid_checkout_id"), Order.status == PENDING_PAYMENT)
    .values(status=PAID, paid_at=bindparam("paid_time"), updated_at=bindparam("paid_time"))
)
_INSERT_PAYMENT = plain_insert(Payment.__table__, ("checkout_id", "provider", "provider_ref", "amount_fen", "created_at"))


def mark_checkout_paid(
    session: Session,
    *,
    checkout_id: int,
    provider: str,
    provider_ref: str,
    amount_fen: int,
    now: datetime | None = None,
    actor_id: int | None = None,
    notices: list[OrderNotice] | None = None,
) -> Checkout:
    """Record the payment of a checkout: its orders become paid (with an OrderEvent each), the ledger
    books the payment and each shop owner gets an in-app notice, all in one transaction.

    The notices' mails are appended to `notices` for the caller to send once its transaction commits
    (send_notices): this may run inside the caller's transaction, which may still roll back.

    Idempotent: for a checkout that is already paid it changes nothing and returns it. Concurrent
    calls meet at a conditional UPDATE on the checkout's status, so only one of them books anything.
    Raises NotFound, PaymentMismatch (amount is not the total), CheckoutExpired (cancelled: its stock
    was given back, so it cannot be revived).
    """
    now = now or utcnow()
    with atomic(session):
        checkout = session.exec(_FRESH_CHECKOUT, params={"checkout_id": checkout_id}).first()
        if checkout is None:
            raise NotFound()
        if checkout.status == PAID:
            return checkout
        if checkout.status != PENDING_PAYMENT:
            raise CheckoutExpired()
        if amount_fen != checkout.total_fen:
            raise PaymentMismatch(f"paid {amount_fen}, expected {checkout.total_fen}")
        if not provider_ref or len(provider_ref) > 120:
            raise InvalidInput(code="payment_ref_invalid")
        claimed = session.execute(
            _CLAIM, {"checkout_id": checkout.id, "paid_time": now, "provider_name": provider}
        ).rowcount
        if claimed != 1:
            # Someone else settled it between our read and our write (PostgreSQL); look again.
            session.refresh(checkout)
            if checkout.status == PAID:
                return checkout
            raise CheckoutExpired()
        # The claim bypassed the ORM; these are now the row's values, so no reload is needed after the commit.
        for name, value in (("status", PAID), ("paid_at", now), ("payment_provider", provider)):
            set_committed_value(checkout, name, value)
        paid_notices = _book(session, checkout, provider=provider, provider_ref=provider_ref, amount_fen=amount_fen,
                             now=now, actor_id=actor_id)
        if notices is not None:
            notices.extend(paid_notices)
    return checkout


def _book(session: Session, checkout: Checkout, *, provider: str, provider_ref: str, amount_fen: int, now: datetime,
          actor_id: int | None) -> list[OrderNotice]:
    """The rest of a payment once `checkout` is claimed: the payment row, the orders paid with an
    event each, the ledger, and the shop owners' notices (whose mails it returns, to send after the commit)."""
    _INSERT_PAYMENT.write(session, checkout_id=checkout.id, provider=provider, provider_ref=provider_ref,
                          amount_fen=amount_fen, created_at=now)
    lines: list[ledger.PaidLine] = []
    paid: dict[int, PaidOrder] = {}
    for row in _UNPAID_LINES.rows(session, checkout_id=checkout.id):
        values = row._asdict()
        lines.append(ledger.PaidLine(**{name: values[name] for name in _PAID_LINE_FIELDS}))
        if row.order_id not in paid:  # rows come by order, then line: the first is the order's first product
            paid[row.order_id] = PaidOrder(**{name: values[f"paid_{name}"] for name in _PAID_ORDER_FIELDS},
                                           first_product_id=row.product_id)
    _PAY_ORDERS.write(session, paid_checkout_id=checkout.id, paid_time=now)
    order_ids = list(paid)
    if order_ids:
        INSERT_ORDER_EVENT.write_many(session, [
            {"order_id": order_id, "from_status": PENDING_PAYMENT, "to_status": PAID, "actor_id": actor_id,
             "note": f"{provider} {provider_ref}", "created_at": now}
            for order_id in order_ids
        ])
    _forget_orders(session, order_ids)
    ledger.record_payment(session, checkout_id=checkout.id, now=now, lines=lines)
    return record_paid_notices(session, checkout_id=checkout.id, now=now, paid=list(paid.values()))


def _forget_orders(session: Session, order_ids: list[int]) -> None:
    # The UPDATE bypassed the ORM: a copy of an order this session already holds must reload.
    for order_id in order_ids:
        expire_loaded(session, Order, order_id)
