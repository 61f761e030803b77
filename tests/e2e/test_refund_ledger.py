"""Must show (issue 4): refunds before and after commission confirmation, each with the exact ledger
entries it books. The buyer asks on the order page and the merchant approves there (HTTP); the
autouse fixture runs `zhongcao ledger-check` after each test.

The numbers: 2 × 33.33 yuan at 12.5 % commission and a 2 % platform fee. Paid 6666 fen splits into
commission 833, fee 133, merchant 5700. Refunding one unit (3333) leaves 3333 paid, whose split is
commission floor(416.625) = 416, fee floor(66.66) = 66, merchant 2851; so the refund takes back
417 commission, 67 fee and 2849 from the merchant (417 + 67 + 2849 = 3333: no fen lost to rounding).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.e2e import flows
from tests.e2e.flows import COMMISSION_FEN, QUANTITY
from zhongcao.commerce.models import COMPLETED, RECEIVED, OrderLine, RefundRequest
from zhongcao.ledger.ledger import balance
from zhongcao.ledger.models import (
    COMMISSION_CONFIRMED,
    COMMISSION_PENDING,
    MERCHANT_PAYABLE,
    PLATFORM_FEE,
    REFUNDS,
    LedgerEntry,
)

UNIT_FEN = 3333
REFUND_COMMISSION, REFUND_FEE, REFUND_MERCHANT = 417, 67, 2849


@pytest.fixture
def paid_order(app, client, session, make_user, sign_in_as, shop_scene):
    """A reader bought 2 units from the article with the sandbox; the merchant shipped; the reader confirmed receipt."""
    reader = make_user()
    sign_in_as(client, reader)
    flows.add_from_article(client, flows.article_path(shop_scene["article"], shop_scene["author"]), shop_scene["product"],
                           quantity=QUANTITY)
    flows.add_address(client)
    checkout_id = flows.buy_everything_in_cart(client)
    (order,) = flows.orders_of(session, checkout_id)
    flows.ship(shop_scene["merchant_client"], order)
    flows.confirm_receipt(client, order)
    (order,) = flows.orders_of(session, checkout_id)
    assert order.status == RECEIVED
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    return {**shop_scene, "reader": reader, "order": order, "line": line}


def ask_for_refund(buyer_client, order, line, *, quantity: int) -> RefundRequest:
    page = flows.text_of(buyer_client.get(f"/orders/{order.number}"))
    form = flows.form_posting_to(page, f"/orders/{order.number}/lines/{line.id}/refund")
    fields = {**form["fields"], f"line-{line.id}-quantity": str(quantity), f"line-{line.id}-reason": "尺码偏大 · Too big"}
    assert buyer_client.post(form["action"], data=fields).status_code == 303


def approve_the_refund(merchant_client, order) -> None:
    page = flows.text_of(merchant_client.get(f"/orders/{order.number}"))
    form = flows.form_posting_to(page, "/approve")
    assert merchant_client.post(form["action"], data=form["fields"]).status_code == 303


def refund_entries(session, line) -> list[tuple[str, int | None, int, str]]:
    """(account, owner, amount, kind) of every refund-time entry of the line, zero entries excluded by the ledger."""
    session.rollback()
    rows = session.exec(
        select(LedgerEntry).where(LedgerEntry.order_line_id == line.id, LedgerEntry.kind.in_(["refund", "commission_adjust"]))
    ).all()
    assert len({row.txn_id for row in rows}) == 1, "one refund is one ledger transaction"
    return sorted((row.account, row.owner_id, row.amount_fen, row.kind) for row in rows)


def test_a_refund_inside_the_return_window_reverses_pending_commission_exactly(app, client, session, paid_order):
    scene = paid_order
    author, shop, reader, product = scene["author"], scene["shop"], scene["reader"], scene["product"]

    ask_for_refund(client, scene["order"], scene["line"], quantity=1)
    approve_the_refund(scene["merchant_client"], scene["order"])

    assert refund_entries(session, scene["line"]) == sorted([
        (REFUNDS, reader.id, UNIT_FEN, "refund"),
        (MERCHANT_PAYABLE, shop.id, -REFUND_MERCHANT, "refund"),
        (COMMISSION_PENDING, author.id, -REFUND_COMMISSION, "refund"),
        (PLATFORM_FEE, None, -REFUND_FEE, "refund"),
    ])
    assert balance(session, account=COMMISSION_PENDING, owner_id=author.id) == COMMISSION_FEN - REFUND_COMMISSION
    session.refresh(product)
    assert product.stock == 10 - QUANTITY + 1, "the refunded unit is back on sale"

    flows.run_due_at(app, scene["order"].return_window_ends_at + timedelta(minutes=1))

    session.rollback()
    assert balance(session, account=COMMISSION_CONFIRMED, owner_id=author.id) == 416
    assert balance(session, account=COMMISSION_PENDING, owner_id=author.id) == 0


def test_a_refund_decided_after_confirmation_books_a_negative_adjustment(app, client, session, paid_order):
    scene = paid_order
    author, shop, reader = scene["author"], scene["shop"], scene["reader"]
    ask_for_refund(client, scene["order"], scene["line"], quantity=1)  # asked in time, decided late
    flows.run_due_at(app, scene["order"].return_window_ends_at + timedelta(minutes=1))
    (order,) = flows.orders_of(session, scene["order"].checkout_id)
    assert order.status == COMPLETED
    assert balance(session, account=COMMISSION_CONFIRMED, owner_id=author.id) == COMMISSION_FEN

    approve_the_refund(scene["merchant_client"], order)

    assert refund_entries(session, scene["line"]) == sorted([
        (REFUNDS, reader.id, UNIT_FEN, "refund"),
        (MERCHANT_PAYABLE, shop.id, -REFUND_MERCHANT, "refund"),
        (COMMISSION_CONFIRMED, author.id, -REFUND_COMMISSION, "commission_adjust"),
        (PLATFORM_FEE, None, -REFUND_FEE, "refund"),
    ])
    assert balance(session, account=COMMISSION_CONFIRMED, owner_id=author.id) == COMMISSION_FEN - REFUND_COMMISSION
    assert balance(session, account=COMMISSION_PENDING, owner_id=author.id) == 0


def test_refunding_the_whole_line_before_confirmation_leaves_the_author_nothing(app, client, session, paid_order):
    scene = paid_order
    author, shop = scene["author"], scene["shop"]

    ask_for_refund(client, scene["order"], scene["line"], quantity=QUANTITY)
    approve_the_refund(scene["merchant_client"], scene["order"])
    flows.run_due_at(app, scene["order"].return_window_ends_at + timedelta(minutes=1))

    session.rollback()
    for account, owner in ((COMMISSION_PENDING, author.id), (COMMISSION_CONFIRMED, author.id), (MERCHANT_PAYABLE, shop.id),
                           (PLATFORM_FEE, None)):
        assert balance(session, account=account, owner_id=owner) == 0, account
    assert balance(session, account=REFUNDS, owner_id=scene["reader"].id) == 2 * UNIT_FEN
    line = session.get(OrderLine, scene["line"].id, populate_existing=True)
    assert (line.refunded_quantity, line.refunded_fen) == (QUANTITY, 2 * UNIT_FEN)
