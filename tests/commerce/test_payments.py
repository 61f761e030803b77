"""Payments: the sandbox provider, and mark_checkout_paid (idempotent, books the ledger in the same transaction)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from zhongcao.commerce import checkout, payments
from zhongcao.commerce.models import CANCELLED, PAID, PENDING_PAYMENT, Checkout, Order, OrderEvent, Payment
from zhongcao.errors import NotFound
from zhongcao.ledger import ledger
from zhongcao.ledger.models import BUYER_PAYMENTS, COMMISSION_PENDING, LedgerEntry
from zhongcao.social.models import Notification

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def unpaid(session, make_cart, make_product, make_user, make_address, make_article):
    """An unpaid checkout of two shops' products, one line credited to an article's author."""
    buyer, author = make_user(), make_user(is_creator=True)
    credited, plain = make_product(price_fen=10000, commission_bp=1000), make_product(price_fen=2550)
    article = make_article(author=author, body_md=f"::: product {credited.slug}\n:::\n")
    cart = make_cart(buyer=buyer, lines=[(credited, 1, {"source": "article", "ref": article.id}), (plain, 2)])
    placed = checkout.place_order(session, buyer_id=buyer.id, cart_id=cart.id, address_id=make_address(buyer).id,
                                  idempotency_key="pay-1", now=T0)
    return placed, buyer, author


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_sandbox_pays_the_checkout_in_full_and_books_the_ledger(session, unpaid):
    placed, buyer, author = unpaid
    provider = payments.get_provider("sandbox", config={"ENV": "development"})

    paid = provider.confirm(session, checkout_id=placed.id, buyer_id=buyer.id, now=T0 + timedelta(minutes=3))

    assert (paid.status, paid.paid_at) == (PAID, T0 + timedelta(minutes=3))
    orders = session.exec(select(Order).where(Order.checkout_id == placed.id)).all()
    assert {order.status for order in orders} == {PAID}
    payment = session.exec(select(Payment)).one()
    assert (payment.provider, payment.provider_ref, payment.amount_fen) == ("sandbox", f"sandbox-{placed.id}", 10000 + 5100)
    paid_events = session.exec(select(OrderEvent).where(OrderEvent.to_status == PAID)).all()
    assert [(e.from_status, e.actor_id) for e in paid_events] == [(PENDING_PAYMENT, buyer.id)] * 2
    assert ledger.balance(session, account=BUYER_PAYMENTS, owner_id=buyer.id) == -(10000 + 5100)
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=author.id) == 1000
    assert ledger.check_ledger(session) == []


def test_marking_a_checkout_paid_twice_changes_nothing(session, unpaid):
    placed, _buyer, _author = unpaid
    args = dict(checkout_id=placed.id, provider="sandbox", provider_ref="sandbox-x", amount_fen=placed.total_fen)
    payments.mark_checkout_paid(session, **args, now=T0)
    entries = _count(session, LedgerEntry)

    again = payments.mark_checkout_paid(session, **args, now=T0 + timedelta(minutes=1))

    assert again.paid_at == T0
    assert _count(session, Payment) == 1
    assert _count(session, LedgerEntry) == entries
    assert session.exec(select(func.count()).select_from(OrderEvent).where(OrderEvent.to_status == PAID)).one() == 2
    assert ledger.check_ledger(session) == []


def test_a_payment_of_the_wrong_amount_is_refused(session, unpaid):
    placed, _buyer, _author = unpaid

    with pytest.raises(payments.PaymentMismatch):
        payments.mark_checkout_paid(session, checkout_id=placed.id, provider="sandbox", provider_ref="sandbox-x",
                                    amount_fen=placed.total_fen - 1)

    assert session.get(Checkout, placed.id).status == PENDING_PAYMENT
    assert _count(session, Payment) == 0 and _count(session, LedgerEntry) == 0


def test_an_expired_checkout_cannot_be_paid(session, unpaid):
    placed, buyer, _author = unpaid
    checkout.expire_unpaid(session, now=T0 + timedelta(hours=1))

    with pytest.raises(checkout.CheckoutExpired):
        payments.get_provider("sandbox", config={}).confirm(session, checkout_id=placed.id, buyer_id=buyer.id)

    assert session.get(Checkout, placed.id).status == CANCELLED
    assert _count(session, Payment) == 0 and _count(session, LedgerEntry) == 0


def test_only_the_buyer_can_pay_in_the_sandbox(session, unpaid, make_user):
    placed, _buyer, _author = unpaid

    with pytest.raises(NotFound):
        payments.get_provider("sandbox", config={}).confirm(session, checkout_id=placed.id, buyer_id=make_user().id)

    assert session.get(Checkout, placed.id).status == PENDING_PAYMENT


def test_the_sandbox_sends_the_buyer_to_our_own_page(session, unpaid):
    placed, _buyer, _author = unpaid
    provider = payments.get_provider("sandbox", config={})

    url = provider.start_payment(session, checkout=placed, success_url="https://x/ok", cancel_url="https://x/no")

    assert url == f"/pay/sandbox/{placed.id}"
    assert "no real money" in provider.label


def test_the_sandbox_is_refused_in_production(monkeypatch):
    with pytest.raises(payments.SandboxRefused):
        payments.get_provider("sandbox", config={"ENV": "production"})
    monkeypatch.setenv("ZHONGCAO_ENV", "production")
    with pytest.raises(payments.SandboxRefused):
        payments.get_provider("sandbox", config={})


def test_unknown_providers_are_refused():
    with pytest.raises(payments.UnknownProvider):
        payments.get_provider("paypal", config={})


def test_stripe_is_available_through_the_same_interface():
    provider = payments.get_provider("stripe", config={"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"})

    assert provider.name == "stripe"
    assert callable(provider.start_payment)


@pytest.fixture
def notifications_refused(engine, session):
    """The database refuses every new notification row (a trigger), as a broken edge would."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_notification() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$"
                " LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_notification BEFORE INSERT ON notification FOR EACH ROW EXECUTE FUNCTION refuse_notification()"
            )
        else:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_notification BEFORE INSERT ON notification BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    yield
    session.rollback()  # on PostgreSQL the test's open read would hold the table the DROP needs
    with engine.begin() as connection:  # the PostgreSQL test database outlives this test
        connection.exec_driver_sql("DROP TRIGGER refuse_notification" + (" ON notification" if postgres else ""))
        if postgres:
            connection.exec_driver_sql("DROP FUNCTION refuse_notification()")


def test_the_sandbox_tells_the_merchant_in_the_same_transaction_and_mails_after_it(session, unpaid):
    placed, buyer, _author = unpaid
    mails = []

    payments.get_provider("sandbox", config={}).confirm(session, checkout_id=placed.id, buyer_id=buyer.id, now=T0,
                                                        announce=mails.append)
    payments.get_provider("sandbox", config={}).confirm(session, checkout_id=placed.id, buyer_id=buyer.id, now=T0,
                                                        announce=mails.append)

    notices = session.exec(select(Notification.kind, Notification.count)).all()
    assert notices == [("order_paid", 1), ("order_paid", 1)]  # one per shop, and none for the repeated click
    assert sorted(mail.kind for mail in mails) == ["order_paid", "order_paid"]


def test_a_notice_that_cannot_be_written_does_not_undo_the_payment(session, unpaid, notifications_refused):
    placed, buyer, _author = unpaid
    mails = []

    paid = payments.get_provider("sandbox", config={}).confirm(session, checkout_id=placed.id, buyer_id=buyer.id,
                                                               now=T0, announce=mails.append)

    session.rollback()
    assert paid.status == PAID and session.get(Checkout, placed.id).status == PAID
    assert _count(session, Payment) == 1 and ledger.check_ledger(session) == []
    assert _count(session, Notification) == 0 and mails == []
