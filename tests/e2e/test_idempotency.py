"""Must show (issue 4): a double submit of the checkout form creates one checkout and one order, and a
double click on Pay books one payment. (Replayed Stripe webhooks: tests/commerce/test_stripe.py;
simultaneous double submits against gunicorn: tests/concurrency/.)"""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from tests.e2e import flows
from tests.e2e.flows import QUANTITY
from zhongcao.commerce.models import PAID, Checkout, Order, OrderLine, Payment
from zhongcao.ledger.models import LedgerEntry


def count(session, column) -> int:
    session.rollback()
    return session.exec(select(func.count(column))).one()


def test_submitting_the_checkout_form_twice_places_one_order(client, session, make_user, sign_in_as, shop_scene):
    buyer = make_user()
    sign_in_as(client, buyer)
    flows.add_from_article(client, flows.article_path(shop_scene["article"], shop_scene["author"]), shop_scene["product"],
                           quantity=QUANTITY)
    flows.add_address(client)
    form = flows.review_checkout(client)

    first = flows.place_order(client, form)
    second = flows.place_order(client, form)  # the browser resent the POST (double click, or a retry after a timeout)

    assert first == second
    assert count(session, Checkout.id) == 1
    assert count(session, Order.id) == 1
    assert count(session, OrderLine.id) == 1
    session.refresh(shop_scene["product"])
    assert shop_scene["product"].stock == 10 - QUANTITY, "stock was taken once"


def test_pressing_pay_twice_books_one_payment(client, session, make_user, sign_in_as, shop_scene):
    buyer = make_user()
    sign_in_as(client, buyer)
    flows.add_from_product_page(client, shop_scene["product"])
    flows.add_address(client)
    pay_at = flows.place_order(client, flows.review_checkout(client))
    page = flows.text_of(client.get(pay_at.replace("http://localhost", "")))
    pay_form = flows.form_posting_to(page, "/pay/sandbox/")

    for _ in range(2):
        client.post(pay_form["action"], data={**pay_form["fields"], "action": "pay"})

    assert count(session, Payment.id) == 1
    assert session.exec(select(Order)).one().status == PAID
    payments = session.exec(select(func.count(func.distinct(LedgerEntry.txn_id))).where(LedgerEntry.kind == "payment")).one()
    assert payments == 1


def test_a_new_review_page_is_a_new_order(client, session, make_user, sign_in_as, shop_scene):
    buyer = make_user()
    sign_in_as(client, buyer)
    flows.add_address(client)

    for _ in range(2):
        flows.add_from_product_page(client, shop_scene["product"])
        flows.place_order(client, flows.review_checkout(client))

    assert count(session, Checkout.id) == 2
    assert len(set(session.exec(select(Checkout.idempotency_key)).all())) == 2
