"""Stand-ins for Stripe, the one edge we don't own: a tiny Stripe API on 127.0.0.1 that records what we
ask of it, and webhook payloads signed with a test secret exactly as Stripe signs them
(`t=<ts>,v1=HMAC_SHA256(secret, f"{t}.{payload}")`), so that the real `stripe` library verifies them."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

WEBHOOK_SECRET = "whsec_test_" + "s" * 32
SECRET_KEY = "sk_test_" + "k" * 24


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send with `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def session_event(
    checkout, *, event_type: str = "checkout.session.completed", event_id: str | None = None,
    session_id: str | None = None, amount_fen: int | None = None, currency: str = "cny", payment_status: str = "paid",
) -> dict:
    """A Stripe event about a Checkout Session for our `checkout`, as Stripe's API would send it."""
    session_id = session_id or f"cs_test_{checkout.id}"
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "type": event_type,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": str(checkout.id),
                "metadata": {"checkout_id": str(checkout.id)},
                "amount_total": checkout.total_fen if amount_fen is None else amount_fen,
                "currency": currency,
                "payment_status": payment_status,
                "payment_intent": f"pi_test_{session_id}",
                "status": "complete" if payment_status == "paid" else "open",
            }
        },
    }


def post_event(client, event: dict, *, secret: str = WEBHOOK_SECRET, signature: str | None = None):
    """POST a signed event to our webhook route with a Flask test client."""
    payload = json.dumps(event).encode()
    return client.post(
        "/webhooks/stripe", data=payload, content_type="application/json",
        headers={"Stripe-Signature": signature if signature is not None else sign(payload, secret=secret)},
    )


class FakeStripe:
    """Stripe's API on 127.0.0.1: answers Checkout Session and Refund creation, records each request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                fake.requests.append({
                    "path": self.path, "form": form,
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "authorization": self.headers.get("Authorization"),
                })
                if self.path == "/v1/checkout/sessions":
                    ref = form.get("client_reference_id", "0")
                    body = {"id": f"cs_test_{ref}", "object": "checkout.session",
                            "url": f"https://checkout.stripe.com/c/pay/cs_test_{ref}"}
                elif self.path == "/v1/refunds":
                    body = {"id": f"re_test_{len(fake.requests)}", "object": "refund", "status": "succeeded",
                            "amount": int(form.get("amount", 0))}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests_to(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
