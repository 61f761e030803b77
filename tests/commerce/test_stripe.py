"""The Stripe Checkout provider and `POST /webhooks/stripe`, offline: payloads are signed with a test
secret as Stripe signs them and verified by the real `stripe` library; Stripe's API is a fake on
127.0.0.1 (an edge we don't own). Everything of ours runs for real."""
from __future__ import annotations

import json
import re
import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from zhongcao.commerce import stripe_provider
from zhongcao.commerce.models import CANCELLED, PAID, PENDING_PAYMENT, Checkout, Order, Payment, WebhookEvent
from zhongcao.ledger.ledger import check_ledger
from zhongcao.ledger.models import LedgerEntry
from tests.e2e.stripe_fakes import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, post_event, session_event, sign


@pytest.fixture
def fake_stripe():
    fake = FakeStripe()
    yield fake
    fake.stop()


@pytest.fixture
def app_overrides(fake_stripe):
    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake_stripe.url,
        # As in production: the webhook must get through CSRF protection without a token.
        "WTF_CSRF_ENABLED": True,
    }


def count(session, column) -> int:
    session.rollback()
    return session.exec(select(func.count(column))).one()


def test_an_unsigned_event_is_refused_and_changes_nothing(client, session):
    payload = json.dumps({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {}}}).encode()

    response = client.post("/webhooks/stripe", data=payload, content_type="application/json")

    assert response.status_code == 400
    assert count(session, WebhookEvent.id) == 0


def test_an_event_signed_with_another_secret_is_refused(client, session):
    event = {"id": "evt_forged", "type": "checkout.session.completed", "data": {"object": {"client_reference_id": "1"}}}

    response = post_event(client, event, secret="whsec_attacker_secret")

    assert response.status_code == 400
    assert count(session, WebhookEvent.id) == 0


def test_a_tampered_payload_fails_verification(client):
    signed = json.dumps({"id": "evt_2", "type": "ping"}).encode()
    header = sign(signed)
    tampered = signed.replace(b"ping", b"pong")

    response = client.post("/webhooks/stripe", data=tampered, content_type="application/json",
                           headers={"Stripe-Signature": header})

    assert response.status_code == 400


def test_a_stale_signature_is_refused_as_a_replay_from_outside_the_tolerance(client):
    payload = json.dumps({"id": "evt_old", "type": "customer.created", "data": {"object": {}}}).encode()

    response = client.post("/webhooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": sign(payload, timestamp=int(time.time()) - 3600)})

    assert response.status_code == 400


def test_an_unknown_event_type_is_acknowledged_and_ignored(client, session):
    event = {"id": "evt_customer", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.get_json()["outcome"] == stripe_provider.IGNORED
    assert count(session, WebhookEvent.id) == 0


def test_the_webhook_is_the_only_post_that_needs_no_csrf_token(app, client, make_product):
    product = make_product()
    event = {"id": "evt_csrf", "type": "customer.created", "data": {"object": {}}}

    assert post_event(client, event).status_code == 200
    assert client.post("/cart/items", data={"product_id": product.id, "quantity": 1}).status_code == 400
    assert app.extensions["csrf"]._exempt_views == {"zhongcao.web.webhooks.receive_stripe_event"}


def test_without_a_configured_secret_every_event_is_refused(app, client):
    app.config["STRIPE_WEBHOOK_SECRET"] = ""
    event = {"id": "evt_3", "type": "customer.created", "data": {"object": {}}}

    response = post_event(client, event)

    assert response.status_code == 400


def test_an_event_for_a_checkout_we_do_not_have_is_acknowledged_and_changes_nothing(client, session):
    class Missing:
        id = 999_999
        total_fen = 100

    response = post_event(client, session_event(Missing()))

    assert response.status_code == 200
    assert response.get_json()["outcome"] == stripe_provider.NOTHING_TO_DO
    assert count(session, Payment.id) == 0


# With a real checkout: placed through the domain, paid through the webhook.

@pytest.fixture
def stripe_checkout(session, make_user, make_product, make_article):
    """A buyer's unpaid checkout (2 × 33.33 yuan, credited to an article's author) waiting for Stripe.

    It expires in an hour, so the Stripe session's expiry is the checkout's own, not "now + 30 minutes"."""
    from zhongcao.commerce import addresses, cart, checkout

    product = make_product(price_fen=3333, commission_bp=1250, stock=5)
    author = make_user(is_creator=True)
    article = make_article(author=author, body_md=f"::: product {product.slug}\n:::\n")
    buyer = make_user()
    buyer_cart = cart.open_cart(session, owner_id=buyer.id)
    cart.add_to_cart(session, cart_id=buyer_cart.id, product_id=product.id, quantity=2, source="article",
                     ref=article.id, buyer_id=buyer.id)
    address = addresses.save_address(session, user_id=buyer.id, recipient="林小草", mobile="13800138000",
                                     province="上海市", city="上海市", district="徐汇区", detail="漕溪北路 88 号")
    placed = checkout.place_order(session, buyer_id=buyer.id, cart_id=buyer_cart.id, address_id=address.id,
                                  idempotency_key="stripe-test-1", payment_provider="stripe", expiry_minutes=60)
    assert placed.total_fen == 6666
    return placed


def checkout_now(session, checkout_id: int) -> Checkout:
    session.rollback()
    return session.get(Checkout, checkout_id, populate_existing=True)


def assert_ledger_balances(session) -> None:
    session.rollback()
    assert check_ledger(session) == []


def test_placing_an_order_sends_the_buyer_to_a_stripe_session_for_the_exact_total(
    app, client, session, make_user, make_product, sign_in_as, fake_stripe,
):
    from zhongcao.commerce import addresses, cart

    app.config["PAYMENT_PROVIDER"] = "stripe"
    app.config["WTF_CSRF_ENABLED"] = False
    product = make_product(price_fen=12345, stock=3)
    buyer = make_user()
    cart.add_to_cart(session, cart_id=cart.open_cart(session, owner_id=buyer.id).id, product_id=product.id, quantity=3)
    addresses.save_address(session, user_id=buyer.id, recipient="王五", mobile="13900139000", province="浙江省",
                           city="杭州市", district="西湖区", detail="文三路 1 号")
    sign_in_as(client, buyer)
    review = client.get("/checkout").get_data(as_text=True)
    key = re_search(r'name="idempotency_key" type="hidden" value="([^"]+)"', review)
    address_id = re_search(r'name="address_id"[^>]*value="(\d+)"', review)

    response = client.post("/checkout", data={"idempotency_key": key, "address_id": address_id})

    (created,) = fake_stripe.requests_to("/v1/checkout/sessions")
    placed = session.exec(select(Checkout)).one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"https://checkout.stripe.com/c/pay/cs_test_{placed.id}"
    form = created["form"]
    assert form["line_items[0][price_data][currency]"] == "cny"
    assert int(form["line_items[0][price_data][unit_amount]"]) * int(form["line_items[0][quantity]"]) == 3 * 12345
    assert form["client_reference_id"] == str(placed.id) == form["metadata[checkout_id]"]
    assert form["mode"] == "payment"
    # Stripe stops taking money when our checkout expires, or as soon after as Stripe allows (30 minutes).
    assert int(form["expires_at"]) <= max(int(placed.expires_at.timestamp()), int(time.time()) + 31 * 60) + 300
    assert int(form["expires_at"]) >= int(time.time()) + 30 * 60
    assert created["authorization"] == f"Bearer {SECRET_KEY}"


def test_pressing_pay_again_asks_stripe_for_the_same_session(app, client, session, stripe_checkout, sign_in_as, fake_stripe):
    from zhongcao.accounts.models import User

    app.config["WTF_CSRF_ENABLED"] = False
    sign_in_as(client, session.get(User, stripe_checkout.buyer_id))

    first = client.post(f"/checkout/{stripe_checkout.id}/pay")
    second = client.post(f"/checkout/{stripe_checkout.id}/pay")

    assert first.headers["Location"] == second.headers["Location"]
    one, two = fake_stripe.requests_to("/v1/checkout/sessions")
    # The same key with the same parameters: Stripe answers with the session it made the first time.
    assert one["idempotency_key"] == two["idempotency_key"] and one["idempotency_key"].startswith("zhongcao-checkout-")
    assert one["form"] == two["form"]


def re_search(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(1)


def test_a_completed_session_marks_the_checkout_paid_and_books_the_ledger(client, session, stripe_checkout):
    event = session_event(stripe_checkout)

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.get_json()["outcome"] == stripe_provider.MARKED_PAID
    assert checkout_now(session, stripe_checkout.id).status == PAID
    payment = session.exec(select(Payment)).one()
    assert (payment.provider, payment.provider_ref, payment.amount_fen) == ("stripe", f"cs_test_{stripe_checkout.id}", 6666)
    assert {order.status for order in session.exec(select(Order))} == {PAID}
    assert session.exec(select(func.sum(LedgerEntry.amount_fen))).one() == 0
    assert count(session, LedgerEntry.id) > 0
    assert_ledger_balances(session)


def test_a_stripe_payment_tells_the_merchant_in_app_and_by_mail_once(client, session, stripe_checkout, outbox):
    from zhongcao.accounts.models import User
    from zhongcao.catalog.models import Shop
    from zhongcao.social.models import Notification

    event = session_event(stripe_checkout)

    replies = [post_event(client, event) for _ in range(2)]  # Stripe may deliver an event twice

    assert [reply.get_json()["outcome"] for reply in replies] == [stripe_provider.MARKED_PAID, stripe_provider.ALREADY_HANDLED]
    session.rollback()
    assert session.exec(select(Notification.kind, Notification.count)).all() == [("order_paid", 1)]
    merchant = session.exec(select(User).join(Shop, Shop.owner_id == User.id).join(Order, Order.shop_id == Shop.id)).one()
    assert [mail.to for mail in outbox] == [merchant.email]


def test_a_replayed_webhook_creates_one_payment_and_books_once(client, session, stripe_checkout):
    event = session_event(stripe_checkout)
    first = post_event(client, event)
    entries = count(session, LedgerEntry.id)

    replies = [post_event(client, event) for _ in range(3)]

    assert first.get_json()["outcome"] == stripe_provider.MARKED_PAID
    assert [reply.status_code for reply in replies] == [200, 200, 200]
    assert {reply.get_json()["outcome"] for reply in replies} == {stripe_provider.ALREADY_HANDLED}
    assert count(session, Payment.id) == 1
    assert count(session, WebhookEvent.id) == 1
    assert count(session, LedgerEntry.id) == entries
    assert_ledger_balances(session)


def test_the_same_payment_announced_by_a_second_event_changes_nothing(client, session, stripe_checkout, fake_stripe):
    post_event(client, session_event(stripe_checkout))
    entries = count(session, LedgerEntry.id)

    response = post_event(client, session_event(stripe_checkout, event_type="checkout.session.async_payment_succeeded"))

    assert response.status_code == 200
    assert count(session, Payment.id) == 1
    assert count(session, LedgerEntry.id) == entries
    assert fake_stripe.requests_to("/v1/refunds") == []


@pytest.mark.parametrize("change", [{"amount_fen": 6665}, {"amount_fen": 66660}, {"currency": "usd"}])
def test_a_payment_of_the_wrong_amount_or_currency_is_refused(client, session, stripe_checkout, change):
    response = post_event(client, session_event(stripe_checkout, **change))

    assert response.status_code == 400
    assert checkout_now(session, stripe_checkout.id).status == PENDING_PAYMENT
    assert count(session, Payment.id) == 0
    assert count(session, WebhookEvent.id) == 0, "not recorded, so a corrected delivery can still be applied"


def test_a_delayed_payment_method_is_paid_only_when_stripe_says_it_succeeded(client, session, stripe_checkout):
    waiting = post_event(client, session_event(stripe_checkout, payment_status="unpaid"))
    assert waiting.get_json()["outcome"] == stripe_provider.AWAITING_PAYMENT
    assert checkout_now(session, stripe_checkout.id).status == PENDING_PAYMENT

    succeeded = post_event(client, session_event(stripe_checkout, event_type="checkout.session.async_payment_succeeded"))

    assert succeeded.get_json()["outcome"] == stripe_provider.MARKED_PAID
    assert checkout_now(session, stripe_checkout.id).status == PAID
    assert count(session, Payment.id) == 1


def test_a_session_expiring_after_it_was_paid_changes_nothing(client, session, stripe_checkout):
    post_event(client, session_event(stripe_checkout))

    response = post_event(client, session_event(stripe_checkout, event_type="checkout.session.expired",
                                                payment_status="unpaid"))

    assert response.status_code == 200
    assert response.get_json()["outcome"] == stripe_provider.NOTHING_TO_DO
    assert checkout_now(session, stripe_checkout.id).status == PAID
    assert {order.status for order in session.exec(select(Order))} == {PAID}
    assert count(session, Payment.id) == 1


def test_a_payment_arriving_after_the_checkout_expired_is_refunded_not_revived(
    client, session, stripe_checkout, fake_stripe,
):
    from datetime import timedelta

    from zhongcao.catalog.models import Product
    from zhongcao.commerce.checkout import expire_unpaid

    expire_unpaid(session, now=stripe_checkout.expires_at + timedelta(seconds=1))
    product = session.exec(select(Product)).one()
    assert product.stock == 5, "expiry gave the two units back"
    late = session_event(stripe_checkout)

    response = post_event(client, late)
    replay = post_event(client, late)

    assert response.status_code == 200
    assert response.get_json()["outcome"] == stripe_provider.REFUNDED_LATE_PAYMENT
    assert replay.get_json()["outcome"] == stripe_provider.ALREADY_HANDLED
    (refund,) = fake_stripe.requests_to("/v1/refunds")
    assert refund["form"]["payment_intent"] == late["data"]["object"]["payment_intent"]
    assert int(refund["form"]["amount"]) == 6666
    assert refund["idempotency_key"] == f"zhongcao-unwanted-{late['id']}"
    assert checkout_now(session, stripe_checkout.id).status == CANCELLED
    assert count(session, Payment.id) == 0
    assert session.get(Product, product.id, populate_existing=True).stock == 5, "no stock taken for a revived order"
    assert count(session, LedgerEntry.id) == 0


def test_a_second_session_paying_an_already_paid_checkout_is_refunded(client, session, stripe_checkout, fake_stripe):
    post_event(client, session_event(stripe_checkout))
    entries = count(session, LedgerEntry.id)

    response = post_event(client, session_event(stripe_checkout, session_id="cs_test_other_tab"))

    assert response.get_json()["outcome"] == stripe_provider.REFUNDED_LATE_PAYMENT
    (refund,) = fake_stripe.requests_to("/v1/refunds")
    assert refund["form"]["payment_intent"] == "pi_test_cs_test_other_tab"
    assert count(session, Payment.id) == 1
    assert count(session, LedgerEntry.id) == entries


def test_when_the_refund_cannot_be_made_stripe_is_asked_to_retry_and_nothing_is_recorded(
    app, client, session, stripe_checkout,
):
    from datetime import timedelta

    from zhongcao.commerce.checkout import expire_unpaid
    from tests.concurrency.harness import free_port

    expire_unpaid(session, now=stripe_checkout.expires_at + timedelta(seconds=1))
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    response = post_event(client, session_event(stripe_checkout))

    assert response.status_code == 503
    assert count(session, WebhookEvent.id) == 0, "Stripe's retry will find the event new and refund then"


def test_deliveries_of_one_event_racing_each_other_book_one_payment(app, session, stripe_checkout):
    import threading

    event = session_event(stripe_checkout)
    barrier = threading.Barrier(4, timeout=20)
    outcomes: list[tuple[int, str]] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        reply = post_event(client, event)
        outcomes.append((reply.status_code, reply.get_json()["outcome"]))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == sorted([(200, stripe_provider.MARKED_PAID)] + [(200, stripe_provider.ALREADY_HANDLED)] * 3)
    assert count(session, Payment.id) == 1
    assert count(session, WebhookEvent.id) == 1
    assert_ledger_balances(session)


def test_when_stripe_cannot_be_reached_the_buyer_keeps_the_order_and_is_told_so(
    app, client, session, stripe_checkout, sign_in_as,
):
    from zhongcao.accounts.models import User
    from tests.concurrency.harness import free_port

    app.config.update(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}", WTF_CSRF_ENABLED=False)
    sign_in_as(client, session.get(User, stripe_checkout.buyer_id))

    response = client.post(f"/checkout/{stripe_checkout.id}/pay", follow_redirects=True)

    assert response.status_code == 200
    assert "支付服务暂时不可用" in response.get_data(as_text=True)
    assert "127.0.0.1" not in response.get_data(as_text=True), "no configuration detail reaches the buyer"
    assert checkout_now(session, stripe_checkout.id).status == PENDING_PAYMENT
