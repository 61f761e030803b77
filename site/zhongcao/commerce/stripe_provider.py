"""Stripe Checkout: start a hosted payment for a checkout, and turn Stripe's signed webhooks into payments.

Starting a payment creates a Checkout Session (one line per shop order, amounts in fen, currency
cny, `client_reference_id` = our checkout id) and sends the buyer to Stripe's page. The payment is
only believed when Stripe says so in a webhook whose signature `stripe.Webhook.construct_event`
verifies; the redirect back to our site proves nothing.

Webhook handling is idempotent: the event id is stored in WebhookEvent in the same transaction that
marks the checkout paid, so a replayed event changes nothing, and two deliveries racing each other
meet at the table's unique constraint. Out-of-order events, decided here:

- `checkout.session.completed` (or `async_payment_succeeded`) with `payment_status` "paid" marks the
  checkout paid. "unpaid" (a delayed method such as a bank debit) waits for `async_payment_succeeded`.
- A payment for a checkout we already cancelled (it expired unpaid and gave its stock back, which may
  since have been sold), or a second payment for a checkout paid through another session, is
  *refunded at Stripe* rather than reviving the order: reviving could oversell. The refund is made
  before the event is recorded, with an idempotency key derived from the event id, so a failed
  refund call makes Stripe retry the webhook and a retried one never refunds twice.
- `checkout.session.expired` changes nothing: our own expiry (`run-due`) gives stock back, and an
  expired session for a checkout that was paid through another session must not undo that payment.
- An amount or currency that differs from the checkout's total is refused (logged, not recorded,
  nothing marked paid) so that it shows up as a failing delivery in Stripe's dashboard.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import stripe
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from zhongcao.catalog.models import Shop
from zhongcao.clock import utcnow
from zhongcao.commerce.checkout import CheckoutExpired
from zhongcao.commerce.models import CANCELLED, PAID, Checkout, Order, Payment, WebhookEvent
from zhongcao.commerce.orders import Announce, OrderNotice, send_notices
from zhongcao.commerce.payments import mark_checkout_paid
from zhongcao.db import atomic
from zhongcao.errors import DomainError

log = logging.getLogger(__name__)

PROVIDER = "stripe"
CURRENCY = "cny"
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
NEUTRAL_EVENTS = ("checkout.session.expired", "checkout.session.async_payment_failed")
# Stripe accepts a Checkout Session lifetime between 30 minutes and 24 hours.
_SESSION_MIN_LIFETIME = timedelta(minutes=30, seconds=30)
_SESSION_MAX_LIFETIME = timedelta(hours=23, minutes=50)
_EXPIRY_STEP_SECONDS = 300  # expires_at is rounded up to this step (see StripeProvider.start_payment)

# What handle_event did, for the log and the tests.
MARKED_PAID = "marked_paid"
ALREADY_HANDLED = "already_handled"
AWAITING_PAYMENT = "awaiting_payment"
REFUNDED_LATE_PAYMENT = "refunded_late_payment"
NOTHING_TO_DO = "nothing_to_do"
IGNORED = "ignored"


class WebhookSignatureInvalid(DomainError):
    code = "webhook_signature_invalid"


class WebhookAmountMismatch(DomainError):
    code = "webhook_amount_mismatch"


class WebhookRetryLater(DomainError):
    """The checkout changed while we looked at it; Stripe should deliver the event again."""

    code = "webhook_retry_later"


class PaymentProviderUnavailable(DomainError):
    code = "payment_provider_unavailable"


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str
    # Only tests point this elsewhere (a fake Stripe on 127.0.0.1); empty means api.stripe.com.
    api_base: str = ""


def settings_from(config: Any) -> StripeSettings:
    """Stripe settings from the app's configuration (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE)."""
    return StripeSettings(
        secret_key=config.get("STRIPE_SECRET_KEY", ""),
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET", ""),
        api_base=config.get("STRIPE_API_BASE", ""),
    )


def make_client(settings: StripeSettings) -> stripe.StripeClient:
    """A StripeClient for our secret key (and, in tests, a local API base)."""
    base = {"api": settings.api_base} if settings.api_base else None
    return stripe.StripeClient(settings.secret_key, base_addresses=base, max_network_retries=2)


class StripeProvider:
    """The Stripe Checkout payment provider: the buyer pays on Stripe's hosted page."""

    name = PROVIDER
    label = "Stripe 在线支付 · Pay online with Stripe"

    def __init__(self, settings: StripeSettings, client: stripe.StripeClient | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)

    def start_payment(
        self, session: Session, *, checkout: Checkout, success_url: str, cancel_url: str, now: datetime | None = None,
    ) -> str:
        """Create a Stripe Checkout Session for `checkout` and return the URL to send the buyer to.

        Asking twice for the same checkout returns the same session (Stripe's idempotency key).
        Raises PaymentProviderUnavailable when Stripe cannot be reached or refuses the request.
        """
        params = session_params(session, checkout=checkout, success_url=success_url, cancel_url=cancel_url, now=now)
        # Stripe refuses a key reused with other parameters; expires_at moves in 5-minute steps, so a
        # double click or a retry gets the same session and a much later click a new one (should
        # both be paid, handle_event refunds the second).
        key = f"zhongcao-checkout-{checkout.id}-{checkout.total_fen}-{params['expires_at']}"
        try:
            created = self.client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
        except stripe.StripeError as error:
            log.error("stripe: creating a session for checkout %s failed: %s", checkout.id, error)
            # No detail for the buyer: Stripe's message can name our configuration.
            raise PaymentProviderUnavailable() from error
        return created.url

    def refund(self, *, payment_intent: str, amount_fen: int, idempotency_key: str, reason: str) -> str:
        """Refund `amount_fen` of a Stripe payment; returns Stripe's refund id.

        Raises PaymentProviderUnavailable when Stripe cannot be reached or refuses the refund.
        """
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment_intent, "amount": amount_fen, "metadata": {"reason": reason}},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            log.error("stripe: refund of %s failed: %s", payment_intent, error)
            raise PaymentProviderUnavailable() from error
        return refund.id


def session_params(
    session: Session, *, checkout: Checkout, success_url: str, cancel_url: str, now: datetime | None = None,
) -> dict[str, Any]:
    """The Checkout Session we ask Stripe for: one line per shop order, in fen, ending when the checkout expires."""
    now = now or utcnow()
    rows = session.exec(
        select(Order.number, Order.total_fen, Shop.name).join(Shop, Shop.id == Order.shop_id)
        .where(Order.checkout_id == checkout.id).order_by(Order.id)
    ).all()
    line_items = [
        {
            "price_data": {
                "currency": CURRENCY,
                "unit_amount": total_fen,
                "product_data": {"name": f"{shop_name} · 订单 Order {number}"},
            },
            "quantity": 1,
        }
        for number, total_fen, shop_name in rows
    ]
    if sum(total for _, total, _ in rows) != checkout.total_fen:
        # Never let Stripe charge a sum other than the checkout's total, whatever the split says.
        line_items = [{
            "price_data": {"currency": CURRENCY, "unit_amount": checkout.total_fen,
                           "product_data": {"name": f"种草 Zhongcao 订单 Checkout {checkout.id}"}},
            "quantity": 1,
        }]
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": line_items,
        "client_reference_id": str(checkout.id),
        "metadata": {"checkout_id": str(checkout.id), "buyer_id": str(checkout.buyer_id)},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    # Stripe stops taking money when our checkout expires (or as soon after as Stripe allows: at least
    # 30 minutes), which makes late payments, refunded by handle_event, rare.
    expires_at = min(max(_as_aware(checkout.expires_at), now + _SESSION_MIN_LIFETIME), now + _SESSION_MAX_LIFETIME)
    params["expires_at"] = -(-int(expires_at.timestamp()) // _EXPIRY_STEP_SECONDS) * _EXPIRY_STEP_SECONDS
    return params


def verify_event(payload: bytes, signature_header: str | None, *, secret: str) -> dict[str, Any]:
    """Check Stripe's signature on a webhook body and return the event as plain data.

    Raises WebhookSignatureInvalid for a missing, stale or wrong signature or an unreadable body.
    """
    if not secret:
        raise WebhookSignatureInvalid("no webhook secret is configured")
    try:
        stripe.Webhook.construct_event(payload, signature_header, secret)
        return json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise WebhookSignatureInvalid(str(error)) from error


def handle_event(
    session: Session, *, event: dict[str, Any], provider: StripeProvider | None = None, now: datetime | None = None,
    announce: Announce | None = None,
) -> str:
    """Apply one verified Stripe event; returns what was done (MARKED_PAID, ALREADY_HANDLED, …).

    `provider` makes refunds of late or duplicate payments; without one those are only logged.
    Raises WebhookAmountMismatch when the paid amount is not the checkout's total, WebhookRetryLater
    when the checkout changed state mid-way, and PaymentProviderUnavailable when a refund failed.
    Once a payment commits, each shop owner's mail goes to `announce` (their in-app notice is in the commit).
    """
    now = now or utcnow()
    event_id, event_type = str(event.get("id", "")), str(event.get("type", ""))
    if event_type not in PAID_EVENTS + NEUTRAL_EVENTS or not event_id:
        return IGNORED
    if _already_handled(session, event_id):
        return ALREADY_HANDLED
    payload = (event.get("data") or {}).get("object") or {}
    checkout = _find_checkout(session, payload)
    paid = event_type in PAID_EVENTS and payload.get("payment_status") == "paid"
    if paid and checkout is not None:
        _check_amount(checkout, payload, event_id)
        if _is_unwanted_payment(session, checkout, payload):
            _refund(provider, checkout, payload, event_id)
            return _record_only(session, event_id, event_type, now, outcome=REFUNDED_LATE_PAYMENT)
    if not paid or checkout is None:
        if checkout is None:
            log.warning("stripe: event %s names no checkout of ours; ignored", event_id)
        outcome = AWAITING_PAYMENT if event_type == PAID_EVENTS[0] and checkout is not None else NOTHING_TO_DO
        return _record_only(session, event_id, event_type, now, outcome=outcome)
    notices: list[OrderNotice] = []
    try:
        with atomic(session):
            session.add(WebhookEvent(provider=PROVIDER, event_id=event_id, event_type=event_type, received_at=now))
            session.flush()  # a racing delivery of the same event waits here, then fails on the unique key
            session_id = str(payload["id"])
            mark_checkout_paid(
                session, checkout_id=checkout.id, provider=PROVIDER, provider_ref=session_id,
                amount_fen=int(payload["amount_total"]), now=now, notices=notices,
            )
            payment = session.exec(select(Payment).where(Payment.checkout_id == checkout.id)).one()
            if (payment.provider, payment.provider_ref) != (PROVIDER, session_id):
                # Another session paid it while we looked; next time round this payment is refunded.
                raise WebhookRetryLater(f"checkout {checkout.id} was paid by {payment.provider_ref} meanwhile")
    except CheckoutExpired as error:
        # Cancelled while we looked (expiry ran in between): next time round this payment is refunded.
        raise WebhookRetryLater(f"checkout {checkout.id} was cancelled while the event was handled") from error
    except IntegrityError:
        session.rollback()
        if _already_handled(session, event_id):
            return ALREADY_HANDLED
        raise
    send_notices(notices, announce)
    return MARKED_PAID


def _already_handled(session: Session, event_id: str) -> bool:
    found = session.exec(
        select(WebhookEvent.id).where(WebhookEvent.provider == PROVIDER, WebhookEvent.event_id == event_id)
    ).first()
    return found is not None


def _find_checkout(session: Session, payload: dict[str, Any]) -> Checkout | None:
    reference = payload.get("client_reference_id") or (payload.get("metadata") or {}).get("checkout_id")
    if not str(reference or "").isdigit():
        return None
    return session.get(Checkout, int(reference))


def _check_amount(checkout: Checkout, payload: dict[str, Any], event_id: str) -> None:
    amount, currency = payload.get("amount_total"), str(payload.get("currency") or "").lower()
    if amount != checkout.total_fen or currency != CURRENCY:
        log.error(
            "stripe: event %s pays %s %s for checkout %s, which totals %s %s; refused",
            event_id, amount, currency, checkout.id, checkout.total_fen, CURRENCY,
        )
        raise WebhookAmountMismatch(f"paid {amount} {currency}, expected {checkout.total_fen} {CURRENCY}")


def _is_unwanted_payment(session: Session, checkout: Checkout, payload: dict[str, Any]) -> bool:
    """A payment we must give back: the checkout was cancelled, or another session already paid it."""
    if checkout.status == CANCELLED:
        return True
    if checkout.status != PAID:
        return False
    earlier = session.exec(select(Payment).where(Payment.checkout_id == checkout.id)).first()
    return earlier is not None and (earlier.provider, earlier.provider_ref) != (PROVIDER, str(payload.get("id")))


def _refund(provider: StripeProvider | None, checkout: Checkout, payload: dict[str, Any], event_id: str) -> None:
    intent = payload.get("payment_intent")
    log.warning(
        "stripe: session %s paid checkout %s (status %s) that takes no payment; refunding",
        payload.get("id"), checkout.id, checkout.status,
    )
    if provider is None or not intent:
        log.error("stripe: cannot refund session %s automatically; refund it in the Stripe dashboard", payload.get("id"))
        return
    provider.refund(
        payment_intent=str(intent), amount_fen=int(payload["amount_total"]),
        idempotency_key=f"zhongcao-unwanted-{event_id}", reason=f"checkout {checkout.id} is {checkout.status}",
    )


def _record_only(session: Session, event_id: str, event_type: str, now: datetime, *, outcome: str) -> str:
    try:
        with atomic(session):
            session.add(WebhookEvent(provider=PROVIDER, event_id=event_id, event_type=event_type, received_at=now))
    except IntegrityError:
        session.rollback()
        return ALREADY_HANDLED
    return outcome


def _as_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
