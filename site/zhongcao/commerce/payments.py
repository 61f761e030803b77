"""Payment providers, and `mark_checkout_paid`: the one place a checkout becomes paid.

The provider interface is small on purpose. A provider has a `name` and a `label`, and

    start_payment(session, *, checkout, success_url, cancel_url, now=None) -> str

returns the URL to send the buyer to. How the provider later proves the payment is its own
business: the sandbox confirms on its own page (`SandboxProvider.confirm`), Stripe through a signed
webhook (commerce/stripe_provider.py). Both end in `mark_checkout_paid`, which is idempotent.

Providers are looked up by name with `get_provider(name, config=...)` (PAYMENT_PROVIDER picks the
site's provider). The sandbox moves no money and is refused when ZHONGCAO_ENV=production.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel import Session, select

from zhongcao.clock import utcnow
from zhongcao.commerce.checkout import CheckoutExpired
from zhongcao.commerce.models import PAID, PENDING_PAYMENT, Checkout, Order, OrderEvent, Payment
from zhongcao.config import is_production
from zhongcao.db import atomic
from zhongcao.errors import DomainError, InvalidInput, NotFound

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

    def confirm(self, session: Session, *, checkout_id: int, buyer_id: int, now: datetime | None = None) -> Checkout:
        """The buyer pressed Pay on the sandbox page: the checkout is paid in full.

        Raises NotFound (not the buyer's checkout), CheckoutExpired (cancelled or expired).
        """
        checkout = session.get(Checkout, checkout_id)
        if checkout is None or checkout.buyer_id != buyer_id:
            raise NotFound()
        return mark_checkout_paid(
            session, checkout_id=checkout.id, provider=SANDBOX, provider_ref=f"sandbox-{checkout.id}",
            amount_fen=checkout.total_fen, now=now, actor_id=buyer_id,
        )


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


def mark_checkout_paid(
    session: Session,
    *,
    checkout_id: int,
    provider: str,
    provider_ref: str,
    amount_fen: int,
    now: datetime | None = None,
    actor_id: int | None = None,
) -> Checkout:
    """Record the payment of a checkout: its orders become paid (with an OrderEvent each) and the
    ledger books the payment, all in one transaction.

    Idempotent: for a checkout that is already paid it changes nothing and returns it. Concurrent
    calls meet at a conditional UPDATE on the checkout's status, so only one of them books anything.
    Raises NotFound, PaymentMismatch (amount is not the total), CheckoutExpired (cancelled: its stock
    was given back, so it cannot be revived).
    """
    from zhongcao.ledger import ledger

    now = now or utcnow()
    with atomic(session):
        checkout = session.get(Checkout, checkout_id, populate_existing=True)
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
            update(Checkout)
            .where(Checkout.id == checkout_id, Checkout.status == PENDING_PAYMENT)
            .values(status=PAID, paid_at=now, payment_provider=provider)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            # Someone else settled it between our read and our write (PostgreSQL); look again.
            session.refresh(checkout)
            if checkout.status == PAID:
                return checkout
            raise CheckoutExpired()
        session.add(Payment(checkout_id=checkout_id, provider=provider, provider_ref=provider_ref,
                            amount_fen=amount_fen, created_at=now))
        orders = session.exec(
            select(Order).where(Order.checkout_id == checkout_id, Order.status == PENDING_PAYMENT).order_by(Order.id)
        ).all()
        for order in orders:
            order.status, order.paid_at, order.updated_at = PAID, now, now
            session.add(order)
            session.add(OrderEvent(order_id=order.id, from_status=PENDING_PAYMENT, to_status=PAID, actor_id=actor_id,
                                   note=f"{provider} {provider_ref}", created_at=now))
        session.flush()
        ledger.record_payment(session, checkout_id=checkout_id, now=now)
    session.refresh(checkout)
    return checkout
