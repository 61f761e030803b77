"""`make bench-checkout`: the real HTTP checkout against gunicorn (2 sync workers), as `make serve` runs it.

Each order is what a buyer's browser sends: add to cart (POST /cart/items), the review page
(GET /checkout, which carries the idempotency key), place the order (POST /checkout) and pay with
the sandbox (POST /pay/sandbox/<id>), CSRF on, over the buyer's own signed-in session (real sign-in
through the form, before timing). One process per client: gunicorn's sync workers close every
connection and wait for the client's side to close too, so clients that queue for one interpreter's
GIL (threads) hold the workers idle and measure themselves instead of the site.

For 2 and 16 concurrent clients, on SQLite and on PostgreSQL (a temporary database on the server of
ZHONGCAO_BENCH_DATABASE_URL or ZHONGCAO_TEST_DATABASE_URL, dropped afterwards; skipped when neither is
set), it prints orders/s, p50/p99 latency of a whole order (4 requests) and of each request, and
errors: any status a buyer should not see, any exception, and any "database is locked" or traceback
in the server's log. Then a sell-out run (16 clients for the last SELL_OUT units) and a check that
stock and order counts agree: zero oversell.

First, a calibration: GET /healthz from 2 client processes through the same server and client code,
so each run's rate can also be read as a share of what this machine does with almost no work per
request (machines differ, and this one's speed drifts by a third within a day).

Settings: BENCH_SECONDS (default 10 per run), BENCH_CLIENTS (default "2,16"), BENCH_SELL_OUT (default 200),
BENCH_CALIBRATE_SECONDS (default 3).
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpu import process_tree_cpu_seconds  # noqa: E402  (bench/ is the script's folder)

from tests.concurrency.harness import (  # noqa: E402  (the harness lives with the tests that prove the flow)
    Buyer,
    CheckoutStepFailed,
    GunicornServer,
    OwnPostgresDatabase,
    PAY_PATH,
    add_product,
    count_outcome,
    seed_shop,
    sign_in_all,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "2,16").split(",")]
SELL_OUT = int(os.environ.get("BENCH_SELL_OUT", "200"))
CALIBRATE_SECONDS = float(os.environ.get("BENCH_CALIBRATE_SECONDS", "3"))
PLENTY = 10_000_000
MAX_ORDERS_PER_CLIENT = 100_000  # every loop is bounded by a count as well as by time


@dataclass
class Run:
    label: str
    clients: int
    seconds: float = 0.0
    orders: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    order_ms: list[float] = field(default_factory=list)
    step_ms: dict[str, list[float]] = field(default_factory=dict)
    server_cpu: float = 0.0  # seconds of gunicorn CPU (master + workers) over the run
    client_cpu: float = 0.0  # seconds of the client processes' CPU over the run

    def line(self) -> str:
        rate = self.orders / self.seconds if self.seconds else 0.0
        steps = "  ".join(f"{name} {pct(values, 50):.1f}/{pct(values, 99):.1f}" for name, values in self.step_ms.items())
        per_order = 1000 / max(self.orders, 1)
        return (f"{self.label:<11} {self.clients:>3} clients  {rate:8.1f} orders/s  order p50 {pct(self.order_ms, 50):6.1f} ms"
                f"  p99 {pct(self.order_ms, 99):6.1f} ms  errors {len(self.errors)}  refused {self.refused}\n"
                f"{'':<16}per request p50/p99 ms: {steps}\n"
                f"{'':<16}CPU per order: server {self.server_cpu * per_order:.2f} ms, clients {self.client_cpu * per_order:.2f} ms")


def pct(values: list[float], percentile: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]


def timed(run: Run, name: str, call, *args):
    started = time.perf_counter()
    response = call(*args)
    run.step_ms.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    return response


def one_order(buyer: Buyer, product_id: int, run: Run) -> str:
    """The four requests of one order; returns "paid" or "sold_out" (a refusal the buyer is shown)."""
    added = timed(run, "add", buyer.add_to_cart, product_id)
    if added.status == 422:
        return "sold_out"
    if added.status != 303:
        raise CheckoutStepFailed("add to cart", added)
    form = timed(run, "review", buyer.review)
    placed = timed(run, "place", buyer.place_order, form)
    if placed.status == 422:
        buyer.empty_cart()
        return "sold_out"
    match = PAY_PATH.match(placed.location) if placed.status == 303 else None
    if not match:
        raise CheckoutStepFailed("place order", placed)
    paid = timed(run, "pay", buyer.pay_with_sandbox, match.group(1))
    if paid.status != 303:
        raise CheckoutStepFailed("pay", paid)
    return "paid"


def _client(index: int, buyer: Buyer, product_id: int, seconds: float | None, start, results) -> None:
    """One client process: order in a loop until time is up (or, without a time limit, until sold out),
    then send back what it saw and the buyer's cookies."""
    run = Run("", 1)
    start.wait()
    cpu_at_start = time.process_time()
    stop_at = time.perf_counter() + (seconds if seconds is not None else 120.0)
    for _ in range(MAX_ORDERS_PER_CLIENT):
        if time.perf_counter() >= stop_at:
            break
        began = time.perf_counter()
        try:
            outcome = one_order(buyer, product_id, run)
        except Exception as error:  # any failure a buyer would see counts, whatever it is
            run.errors.append(f"{type(error).__name__}: {error}")
            buyer.close()
            continue
        if outcome == "paid":
            run.orders += 1
            run.order_ms.append((time.perf_counter() - began) * 1000)
        else:
            run.refused += 1
            if seconds is None:
                break
    buyer.close()
    cpu = time.process_time() - cpu_at_start
    results.put((index, run.orders, run.refused, run.errors, run.order_ms, run.step_ms, buyer.cookies, buyer.csrf_token, cpu))


def drive(buyers: list[Buyer], product_id: int, run: Run, *, seconds: float | None) -> None:
    """Each buyer orders in a process of its own; their results are merged into `run`."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(buyers) + 1)
    results = context.Queue()
    for buyer in buyers:
        buyer.close()  # no socket is shared with a child
    processes = [context.Process(target=_client, args=(index, buyer, product_id, seconds, start, results), daemon=True)
                 for index, buyer in enumerate(buyers)]
    for process in processes:
        process.start()
    start.wait(timeout=60)
    began = time.perf_counter()
    merged = 0
    for _ in buyers:
        try:
            index, orders, refused, errors, order_ms, step_ms, cookies, token, cpu = results.get(timeout=180)
        except queue.Empty:
            break
        merged += 1
        run.orders += orders
        run.refused += refused
        run.errors += errors
        run.order_ms += order_ms
        run.client_cpu += cpu
        for name, values in step_ms.items():
            run.step_ms.setdefault(name, []).extend(values)
        buyers[index].cookies, buyers[index].csrf_token = cookies, token  # the session as the child left it
    run.seconds = time.perf_counter() - began
    for process in processes:
        process.join(timeout=10)
    if merged < len(buyers):
        run.errors.append(f"{len(buyers) - merged} client process(es) sent no result")


def _healthz_client(base: str, seconds: float, start, results) -> None:
    """One calibration client: GET /healthz (signed out; one tiny database read) in a loop."""
    buyer = Buyer(base)
    start.wait()
    cpu_at_start, requests = time.process_time(), 0
    stop_at = time.perf_counter() + seconds
    for _ in range(MAX_ORDERS_PER_CLIENT * 4):
        if time.perf_counter() >= stop_at:
            break
        if buyer.get("/healthz").status != 200:
            break
        requests += 1
    buyer.close()
    results.put((requests, time.process_time() - cpu_at_start))


def calibrate(server: GunicornServer, clients: int = 2) -> float:
    """The machine's pace with the same server, clients and connection handling but almost no work per
    request: /healthz requests per second, printed with the CPU each costs. Orders/s are comparable
    between machines (and days: this one's speed drifts) as a share of it."""
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(clients + 1), context.Queue()
    processes = [
        context.Process(target=_healthz_client, args=(server.base, CALIBRATE_SECONDS, start, results), daemon=True)
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    start.wait(timeout=60)
    cpu_before, began = process_tree_cpu_seconds(server.process.pid), time.perf_counter()
    outcomes = [results.get(timeout=60) for _ in processes]
    seconds, server_cpu = time.perf_counter() - began, process_tree_cpu_seconds(server.process.pid) - cpu_before
    for process in processes:
        process.join(timeout=10)
    requests = sum(count for count, _ in outcomes)
    rate = requests / seconds if seconds else 0.0
    per_request = 1000 / max(requests, 1)
    client_cpu = sum(cpu for _, cpu in outcomes)
    print(f"{'calibration':<11} {clients:>3} clients  GET /healthz {rate:8.0f} requests/s; CPU per request: "
          f"server {server_cpu * per_request:.3f} ms, clients {client_cpu * per_request:.3f} ms", flush=True)
    return rate


def bench_backend(label: str, database_url: str, directory: Path) -> list[str]:
    """Every run on one database; returns the problems found (errors, oversell, log complaints)."""
    clients = max(CLIENTS)
    shop = seed_shop(database_url, buyers=clients, stock=PLENTY)
    server = GunicornServer(database_url, directory / "data", directory / "gunicorn.log").start()
    problems: list[str] = []
    try:
        buyers = sign_in_all(server.base, shop.buyer_emails)
        healthz_rate = calibrate(server)
        # Warm-up, untimed: every client orders twice, so both workers have loaded what they load lazily
        # (the jieba dictionary for the search index alone takes about a second).
        warm_up = Run(f"{label} warm-up", clients)
        for buyer in buyers * 2:
            try:
                one_order(buyer, shop.product_id, warm_up)
            except CheckoutStepFailed as error:
                problems.append(f"{label} warm-up: {error}")
        for count in CLIENTS:
            product_id = add_product(database_url, shop.shop_id, stock=PLENTY)
            run = Run(label, count)
            cpu_before = process_tree_cpu_seconds(server.process.pid)
            drive(buyers[:count], product_id, run, seconds=SECONDS)
            run.server_cpu = process_tree_cpu_seconds(server.process.pid) - cpu_before
            print(run.line(), flush=True)
            if healthz_rate:
                print(f"{'':<16}4 requests per order: {run.orders * 4 / run.seconds / healthz_rate:.1%} of the /healthz rate",
                      flush=True)
            outcome = count_outcome(database_url, product_id)
            if outcome["units_sold"] != PLENTY - outcome["stock"] or outcome["paid_orders"] != run.orders:
                problems.append(f"{label} {count} clients: counts disagree: {outcome}, {run.orders} orders seen paid")
            problems += [f"{label} {count} clients: {error}" for error in run.errors[:5]]

        product_id = add_product(database_url, shop.shop_id, stock=SELL_OUT)
        for buyer in buyers:
            buyer.empty_cart()
        run = Run(f"{label} sell-out", clients)
        drive(buyers, product_id, run, seconds=None)
        outcome = count_outcome(database_url, product_id)
        oversold = outcome["units_sold"] - SELL_OUT
        print(f"{label:<11} sell-out: {SELL_OUT} units, {clients} clients: {outcome['units_sold']} sold in "
              f"{outcome['orders']} orders, stock {outcome['stock']}, oversold {max(oversold, 0)}, "
              f"{run.refused} told sold out, errors {len(run.errors)}", flush=True)
        if outcome["stock"] != 0 or outcome["units_sold"] != SELL_OUT or outcome["paid_orders"] != SELL_OUT:
            problems.append(f"{label} sell-out: {outcome}")
        problems += [f"{label} sell-out: {error}" for error in run.errors[:5]]
    finally:
        server.stop()
    log = server.log_text()
    if "database is locked" in log or "Traceback" in log:
        problems.append(f"{label}: the server log has errors:\n{log[-2000:]}")
    return problems


def main() -> int:
    print(f"bench-checkout: gunicorn 2 sync workers on 127.0.0.1, {SECONDS:g} s per run, clients {CLIENTS}; "
          "one order = add + review + place + pay (4 requests, CSRF on)", flush=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-checkout-") as temporary:
        directory = Path(temporary)
        (directory / "sqlite").mkdir()
        problems += bench_backend("sqlite", f"sqlite:///{directory / 'sqlite' / 'bench.sqlite3'}", directory / "sqlite")
        server_url = os.environ.get("ZHONGCAO_BENCH_DATABASE_URL") or os.environ.get("ZHONGCAO_TEST_DATABASE_URL")
        if server_url:
            database = OwnPostgresDatabase(server_url, prefix="zhongcao_bench")
            (directory / "pg").mkdir()
            try:
                problems += bench_backend("postgresql", database.url, directory / "pg")
            finally:
                database.drop()
        else:
            print("postgresql: skipped (set ZHONGCAO_BENCH_DATABASE_URL or ZHONGCAO_TEST_DATABASE_URL)")
    for problem in problems:
        print("PROBLEM:", problem)
    print("no errors, no oversell" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
