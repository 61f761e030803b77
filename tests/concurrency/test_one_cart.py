"""One cart per signed-in buyer, however many of their requests race to make it: two tabs, a double
click on "add to cart", or a first add while the same browser signs in and brings its anonymous cart.

Each racer is a thread with a session of its own on the test's real database (SQLite in a file, and
PostgreSQL when ZHONGCAO_TEST_DATABASE_URL is set), released together by a barrier.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func
from sqlmodel import select

from zhongcao.commerce import cart as carts
from zhongcao.commerce.models import Cart, CartLine
from zhongcao.db import new_session

RACERS = 8
DEADLINE = 60.0  # seconds for any one wait


def all_at_once(engine, actions):
    """Run each action(session) on a thread and session of its own, released together; returns their results."""
    barrier = threading.Barrier(len(actions), timeout=DEADLINE)

    def run(action):
        with new_session(engine) as session:
            barrier.wait()
            return action(session)

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return [future.result(timeout=DEADLINE) for future in [pool.submit(run, action) for action in actions]]


def carts_of(session, owner_id: int) -> list[Cart]:
    session.expire_all()  # what the racers committed, not the copies this session loaded before
    return list(session.exec(select(Cart).where(Cart.owner_id == owner_id)))


def lines_of(session, cart_id: int) -> dict[int, int]:
    session.expire_all()
    return {line.product_id: line.quantity for line in session.exec(select(CartLine).where(CartLine.cart_id == cart_id))}


def adding(buyer_id: int, product_id: int, quantity: int = 1):
    return lambda session: carts.add_to_cart(session, owner_id=buyer_id, product_id=product_id, quantity=quantity,
                                             buyer_id=buyer_id).cart_id


def test_first_adds_racing_from_several_tabs_make_one_cart_holding_every_line(engine, session, make_user, make_product):
    buyer = make_user()
    products = [make_product(stock=10) for _ in range(RACERS)]

    cart_ids = all_at_once(engine, [adding(buyer.id, product.id) for product in products])

    owned = carts_of(session, buyer.id)
    assert len(owned) == 1
    assert set(cart_ids) == {owned[0].id}
    assert lines_of(session, owned[0].id) == {product.id: 1 for product in products}


def test_a_double_click_on_a_first_add_makes_one_cart_and_one_line_with_every_unit(engine, session, make_user, make_product):
    buyer, product = make_user(), make_product(stock=50)

    all_at_once(engine, [adding(buyer.id, product.id, quantity=2) for _ in range(RACERS)])

    owned = carts_of(session, buyer.id)
    assert len(owned) == 1
    assert lines_of(session, owned[0].id) == {product.id: 2 * RACERS}  # no add lost to another


def test_signing_in_while_other_tabs_make_their_first_adds_ends_in_one_cart(engine, session, make_user, make_product):
    buyer = make_user()
    carried, shared = make_product(stock=10), make_product(stock=50)
    added = [make_product(stock=10) for _ in range(RACERS - 2)]
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=carried.id, quantity=3)
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=shared.id, quantity=4)

    token = anonymous.token

    def merging(db):
        return carts.merge_carts(db, token=token, owner_id=buyer.id).id

    all_at_once(engine, [merging, adding(buyer.id, shared.id, quantity=5)]
                + [adding(buyer.id, product.id) for product in added])

    owned = carts_of(session, buyer.id)
    assert len(owned) == 1
    assert lines_of(session, owned[0].id) == {carried.id: 3, shared.id: 9, **{product.id: 1 for product in added}}
    assert session.exec(select(func.count(Cart.id)).where(Cart.owner_id.is_(None))).one() == 0


def test_two_tabs_signing_in_with_the_same_anonymous_cart_bring_its_lines_once(engine, session, make_user, make_product):
    buyer, product, other = make_user(), make_product(stock=50), make_product(stock=50)
    account_cart = carts.open_cart(session, owner_id=buyer.id)
    carts.add_to_cart(session, cart_id=account_cart.id, product_id=product.id, quantity=1)
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=product.id, quantity=2)
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=other.id, quantity=3)
    token, anonymous_id = anonymous.token, anonymous.id

    merged = all_at_once(engine, [lambda db: carts.merge_carts(db, token=token, owner_id=buyer.id) for _ in range(2)])

    assert {cart.id for cart in merged if cart is not None} == {account_cart.id}
    assert [cart.id for cart in carts_of(session, buyer.id)] == [account_cart.id]
    assert lines_of(session, account_cart.id) == {product.id: 3, other.id: 3}
    assert session.exec(select(Cart).where(Cart.id == anonymous_id)).first() is None


def test_two_tabs_signing_in_without_an_account_cart_adopt_the_anonymous_one_once(engine, session, make_user, make_product):
    buyer, product = make_user(), make_product(stock=50)
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=product.id, quantity=2)
    token, anonymous_id = anonymous.token, anonymous.id

    merged = all_at_once(engine, [lambda db: carts.merge_carts(db, token=token, owner_id=buyer.id) for _ in range(2)])

    assert {cart.id for cart in merged if cart is not None} == {anonymous_id}
    assert [cart.id for cart in carts_of(session, buyer.id)] == [anonymous_id]
    assert lines_of(session, anonymous_id) == {product.id: 2}
