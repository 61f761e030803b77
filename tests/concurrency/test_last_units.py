"""Must show (issue 4): 24 buyers at once for the last 5 units, against gunicorn with 2 sync workers on
127.0.0.1, through the real HTTP checkout with CSRF on. Exactly 5 orders, stock 0 and never below,
every other buyer told "sold out" (422), no error and no "database is locked" anywhere; on SQLite and
on PostgreSQL (the run's own test database on the ZHONGCAO_TEST_DATABASE_URL server)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.concurrency.harness import (
    Buyer,
    GunicornServer,
    PAY_PATH,
    add_product,
    buy_once,
    count_outcome,
    seed_shop,
    sign_in_all,
    signed_in_by_cookie,
)

BUYERS = 24
UNITS = 5
DEADLINE = 60.0  # seconds for any one wait; every loop here is bounded by a count as well
PG_URL = os.environ.get("ZHONGCAO_TEST_DATABASE_URL", "").strip()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """One gunicorn per backend for this module, with BUYERS buyers signed in."""
    directory = tmp_path_factory.mktemp(f"last-units-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{directory / 'shop.sqlite3'}"
    elif not PG_URL:
        pytest.skip("ZHONGCAO_TEST_DATABASE_URL is not set")
    else:
        # The run's own test database (tests/conftest.py creates it on that server and drops it at the
        # end), emptied for us: a DROP DATABASE of our own would cost a checkpoint, 5-30 s here.
        database = request.getfixturevalue("postgres_database")
        database.empty_tables()
        database_url = database.url_string()
    shop = seed_shop(database_url, buyers=BUYERS, stock=0)
    server = GunicornServer(database_url, directory / "data", directory / "gunicorn.log").start()
    try:
        # Two buyers sign in through the real form; the rest carry the cookie a sign-in leaves (argon2
        # makes each real sign-in cost ~0.4 s of both cores, and sign-in is not what races here).
        buyers = sign_in_all(server.base, shop.buyer_emails[:2])
        buyers += [signed_in_by_cookie(server.base, user_id) for user_id in shop.buyer_ids[2:]]
        yield Site(server=server, database_url=database_url, shop_id=shop.shop_id, buyers=buyers)
    finally:
        server.stop()


@dataclass
class Site:
    server: GunicornServer
    database_url: str
    shop_id: int
    buyers: list[Buyer]

    def last_units(self) -> int:
        """A new product with UNITS left, and every buyer's cart emptied for a fresh start."""
        for buyer in self.buyers:
            buyer.empty_cart()
        return add_product(self.database_url, self.shop_id, stock=UNITS)


def all_at_once(count: int, action):
    """Run action(i) for i in range(count) on as many threads, released together by a barrier."""
    barrier = threading.Barrier(count, timeout=DEADLINE)

    def run(index: int):
        barrier.wait()
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [future.result(timeout=DEADLINE) for future in [pool.submit(run, i) for i in range(count)]]


def assert_no_server_errors(server: GunicornServer, buyers: list[Buyer]) -> None:
    statuses = [status for buyer in buyers for status in buyer.statuses]
    assert not [status for status in statuses if status >= 500], "no buyer ever sees a server error"
    log = server.log_text()
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]


def test_twenty_four_buyers_for_the_last_five_units_make_exactly_five_orders(site):
    product_id, buyers, database_url = site.last_units(), site.buyers, site.database_url
    for buyer in buyers:  # everyone has the product in the cart while it is still in stock
        assert buyer.add_to_cart(product_id).status == 303
    forms = [buyer.review() for buyer in buyers]

    placed = all_at_once(BUYERS, lambda i: buyers[i].place_order(forms[i]))

    winners = [i for i, response in enumerate(placed) if response.status == 303]
    refused = [response for response in placed if response.status == 422]
    assert len(winners) == UNITS
    assert len(refused) == BUYERS - UNITS
    assert all("售罄" in response.body or "库存" in response.body for response in refused), "the losers are told why"
    assert count_outcome(database_url, product_id) == {
        "stock": 0, "checkouts": UNITS, "orders": UNITS, "units_sold": UNITS, "payments": 0, "paid_orders": 0,
    }

    paid = all_at_once(UNITS, lambda n: buyers[winners[n]].pay_with_sandbox(PAY_PATH.match(placed[winners[n]].location).group(1)))

    assert [response.status for response in paid] == [303] * UNITS
    outcome = count_outcome(database_url, product_id)
    assert outcome == {"stock": 0, "checkouts": UNITS, "orders": UNITS, "units_sold": UNITS, "payments": UNITS, "paid_orders": UNITS}
    assert_no_server_errors(site.server, buyers)


def test_buyers_racing_through_the_whole_checkout_never_oversell(site):
    product_id, buyers, database_url = site.last_units(), site.buyers, site.database_url

    outcomes = all_at_once(BUYERS, lambda i: buy_once(buyers[i], product_id))

    paid = [checkout_id for result, checkout_id in outcomes if result == "paid"]
    assert len(paid) == UNITS
    assert {result for result, _ in outcomes} <= {"paid", "add_refused", "order_refused"}
    assert count_outcome(database_url, product_id) == {
        "stock": 0, "checkouts": UNITS, "orders": UNITS, "units_sold": UNITS, "payments": UNITS, "paid_orders": UNITS,
    }
    assert_no_server_errors(site.server, buyers)


def test_the_same_checkout_form_sent_twice_at_the_same_moment_places_one_order(site):
    product_id, buyer, database_url = site.last_units(), site.buyers[0], site.database_url
    assert buyer.add_to_cart(product_id).status == 303
    form = buyer.review()
    twin = Buyer(site.server.base)  # a second connection with the same browser session, as a double click can make
    twin.cookies, twin.csrf_token = dict(buyer.cookies), buyer.csrf_token
    senders = [buyer, twin]

    placed = all_at_once(2, lambda i: senders[i].place_order(form))

    assert [response.status for response in placed] == [303, 303]
    assert placed[0].location == placed[1].location
    outcome = count_outcome(database_url, product_id)
    assert (outcome["checkouts"], outcome["orders"], outcome["stock"]) == (1, 1, UNITS - 1)
    assert_no_server_errors(site.server, senders)
