"""Payment providers calling us: `POST /webhooks/stripe`.

The only route in the site without a CSRF token: Stripe cannot hold one. Its signature header,
checked against STRIPE_WEBHOOK_SECRET, is the proof of origin instead.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from zhongcao import db_session
from zhongcao.commerce import stripe_provider
from zhongcao.extensions import csrf
from zhongcao.web.orders import announce_order_change

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
# Stripe sends events of a few kilobytes; anything far larger is not Stripe.
MAX_EVENT_BYTES = 256 * 1024


@bp.post("/stripe")
@csrf.exempt
def receive_stripe_event():
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        return jsonify(error="too large"), 413
    payload = request.get_data(cache=False)
    try:
        event = stripe_provider.verify_event(
            payload, request.headers.get("Stripe-Signature"), secret=current_app.config["STRIPE_WEBHOOK_SECRET"],
        )
    except stripe_provider.WebhookSignatureInvalid as error:
        log.warning("stripe webhook refused: %s", error.detail)
        return jsonify(error="invalid signature"), 400
    provider = stripe_provider.StripeProvider(stripe_provider.settings_from(current_app.config))
    try:
        outcome = stripe_provider.handle_event(db_session(), event=event, provider=provider, announce=announce_order_change)
    except stripe_provider.WebhookAmountMismatch:
        return jsonify(error="amount mismatch"), 400
    except (stripe_provider.WebhookRetryLater, stripe_provider.PaymentProviderUnavailable):
        # A non-2xx answer makes Stripe deliver the event again later.
        return jsonify(error="retry later"), 503
    log.info("stripe webhook %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return jsonify(received=True, outcome=outcome)
