"""Must show (issue 4): a reader buys from an article, the merchant ships, the buyer confirms receipt,
the clock passes the return window, `zhongcao run-due` runs, and the one creator who led to the sale
holds exactly the commission the rule gives, to the fen. The same through a share link credits the
sharer; buying through one's own article or link credits no one. All through HTTP."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from tests.e2e import flows
from tests.e2e.flows import COMMISSION_FEN, FEE_FEN, MERCHANT_FEN, PAID_FEN, PRICE_FEN, QUANTITY, RATE_BP
from zhongcao.commerce.models import COMPLETED, PAID, RECEIVED, OrderLine
from zhongcao.ledger.ledger import balance
from zhongcao.ledger.models import (
    BUYER_PAYMENTS,
    COMMISSION_CONFIRMED,
    COMMISSION_PENDING,
    MERCHANT_PAYABLE,
    PLATFORM_FEE,
    LedgerEntry,
)


def commission(session, *, account: str, owner_id: int) -> int:
    session.rollback()
    return balance(session, account=account, owner_id=owner_id)


def deliver_and_wait_out_the_return_window(app, session, scene, buyer_client, checkout_id):
    """Merchant ships, buyer confirms, run-due passes the window; returns the (one) order."""
    (order,) = flows.orders_of(session, checkout_id)
    assert order.status == PAID
    flows.ship(scene["merchant_client"], order)
    flows.confirm_receipt(buyer_client, order)
    (order,) = flows.orders_of(session, checkout_id)
    assert order.status == RECEIVED and order.return_window_ends_at is not None

    early = flows.run_due_at(app, order.return_window_ends_at - timedelta(hours=1))
    assert "completed orders: 0" in early
    flows.run_due_at(app, order.return_window_ends_at + timedelta(minutes=1))

    (order,) = flows.orders_of(session, checkout_id)
    assert order.status == COMPLETED
    return order


def test_buying_from_an_article_block_credits_its_author_exactly_after_the_return_window(
    app, client, session, make_user, shop_scene,
):
    reader = make_user()
    author, product = shop_scene["author"], shop_scene["product"]

    flows.add_from_article(client, flows.article_path(shop_scene["article"], author), product, quantity=QUANTITY)
    flows.sign_in_through_the_form(client, reader)  # the anonymous cart follows the reader into the account
    flows.add_address(client)
    checkout_id = flows.buy_everything_in_cart(client)

    assert commission(session, account=COMMISSION_PENDING, owner_id=author.id) == COMMISSION_FEN
    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=author.id) == 0
    order = deliver_and_wait_out_the_return_window(app, session, shop_scene, client, checkout_id)

    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=author.id) == COMMISSION_FEN
    assert commission(session, account=COMMISSION_PENDING, owner_id=author.id) == 0
    assert commission(session, account=BUYER_PAYMENTS, owner_id=reader.id) == -PAID_FEN
    assert commission(session, account=MERCHANT_PAYABLE, owner_id=shop_scene["shop"].id) == MERCHANT_FEN
    assert commission(session, account=PLATFORM_FEE, owner_id=None) == FEE_FEN
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    assert (line.beneficiary_id, line.attribution_source, line.line_total_fen) == (author.id, "article", PAID_FEN)
    session.refresh(product)
    assert product.stock == 10 - QUANTITY


def test_a_second_run_due_confirms_nothing_twice(app, client, session, make_user, sign_in_as, shop_scene):
    reader = make_user()
    sign_in_as(client, reader)
    flows.add_from_article(client, flows.article_path(shop_scene["article"], shop_scene["author"]), shop_scene["product"])
    flows.add_address(client)
    checkout_id = flows.buy_everything_in_cart(client)
    order = deliver_and_wait_out_the_return_window(app, session, shop_scene, client, checkout_id)
    entries_before = session.exec(select(func.count(LedgerEntry.id))).one()

    output = flows.run_due_at(app, order.return_window_ends_at + timedelta(days=30))

    assert "completed orders: 0" in output
    session.rollback()
    assert session.exec(select(func.count(LedgerEntry.id))).one() == entries_before
    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=shop_scene["author"].id) == PRICE_FEN * RATE_BP // 10000


def test_buying_through_a_share_link_credits_the_sharer_not_the_author(
    app, client, session, make_user, sign_in_as, shop_scene,
):
    sharer, reader = make_user(), make_user()
    sharer_client = app.test_client()
    sign_in_as(sharer_client, sharer)
    link = flows.share_url_for_article(sharer_client, shop_scene["article"])

    landed = client.get(link)  # the reader clicks the link someone shared in a group chat
    article_path = flows.article_path(shop_scene["article"], shop_scene["author"])
    assert landed.status_code == 302 and landed.headers["Location"].endswith(article_path)
    flows.add_from_article(client, article_path, shop_scene["product"], quantity=QUANTITY)
    flows.sign_in_through_the_form(client, reader)
    flows.add_address(client)
    checkout_id = flows.buy_everything_in_cart(client)
    deliver_and_wait_out_the_return_window(app, session, shop_scene, client, checkout_id)

    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=sharer.id) == COMMISSION_FEN
    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=shop_scene["author"].id) == 0
    line = session.exec(select(OrderLine)).one()
    assert (line.beneficiary_id, line.attribution_source) == (sharer.id, "share")


def test_an_author_buying_from_their_own_article_credits_no_one(app, client, session, sign_in_as, shop_scene):
    author = shop_scene["author"]
    sign_in_as(client, author)

    flows.add_from_article(client, flows.article_path(shop_scene["article"], author), shop_scene["product"], quantity=QUANTITY)
    flows.add_address(client)
    checkout_id = flows.buy_everything_in_cart(client)
    deliver_and_wait_out_the_return_window(app, session, shop_scene, client, checkout_id)

    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=author.id) == 0
    session.rollback()
    assert session.exec(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.account.in_([COMMISSION_PENDING, COMMISSION_CONFIRMED]))).one() == 0
    line = session.exec(select(OrderLine)).one()
    assert line.beneficiary_id is None
    # With no commission the merchant keeps everything but the platform fee.
    assert commission(session, account=MERCHANT_PAYABLE, owner_id=shop_scene["shop"].id) == PAID_FEN - FEE_FEN


def test_a_sharer_buying_through_their_own_link_credits_no_one(app, client, session, make_user, shop_scene):
    sharer = make_user()
    flows.sign_in_through_the_form(client, sharer)
    link = flows.share_url_for_article(client, shop_scene["article"])

    client.get(link)
    flows.add_from_article(client, flows.article_path(shop_scene["article"], shop_scene["author"]), shop_scene["product"])
    flows.add_address(client)
    checkout_id = flows.buy_everything_in_cart(client)
    deliver_and_wait_out_the_return_window(app, session, shop_scene, client, checkout_id)

    line = session.exec(select(OrderLine)).one()
    # The sharer's own click sets no attribution, so the article's author (who led them there) earns.
    assert line.beneficiary_id == shop_scene["author"].id
    assert commission(session, account=COMMISSION_CONFIRMED, owner_id=sharer.id) == 0
    assert commission(session, account=COMMISSION_PENDING, owner_id=sharer.id) == 0
