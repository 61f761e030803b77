"""Real buyers against a real server: gunicorn (2 sync workers) on 127.0.0.1 over a database of its own,
and a small keep-alive HTTP client that signs in through the real form and checks out like a browser.

Shared by the concurrency tests and `make bench-checkout` (bench/checkout.py), so that the benchmark
measures exactly the flow the tests prove correct.
"""
from __future__ import annotations

import html
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "concurrent-buyer-password-42"
SECRET_KEY = "concurrency-secret-" + "x" * 32
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_META_CSRF = re.compile(r'"X-CSRFToken"\s*:\s*"([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnPostgresDatabase:
    """A PostgreSQL database created for one run on the server of `server_url`, dropped by drop()."""

    def __init__(self, server_url: str, prefix: str = "zhongcao_conc") -> None:
        self.admin_url = make_url(server_url)
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        admin.dispose()
        self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": self.name},
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}"')
        admin.dispose()


@dataclass
class GunicornServer:
    """`gunicorn --workers 2 --worker-class sync` on an ephemeral port, as `make serve` runs the site."""

    database_url: str
    data_dir: Path
    log_path: Path
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ZHONGCAO_DATABASE_URL": self.database_url,
            "ZHONGCAO_DATA_DIR": str(self.data_dir),
            "ZHONGCAO_SECRET_KEY": SECRET_KEY,
            "ZHONGCAO_RATELIMIT_ENABLED": "false",
            "ZHONGCAO_FETCH_REMOTE_IMAGES": "false",
            "ZHONGCAO_PAYMENT_PROVIDER": "sandbox",
            **self.extra_env,
        }

    def start(self, timeout: float = 30.0) -> "GunicornServer":
        self.port = free_port()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "60",
             "--backlog", "256", "--log-level", "warning", "--bind", f"127.0.0.1:{self.port}", "zhongcao:create_app()"],
            env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not become healthy within {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Response:
    status: int
    body: str
    location: str


class Buyer:
    """One browser-like client: its own cookies, the page's CSRF token, and a connection kept open
    while the server allows it (gunicorn's sync workers close every one).

    HTTP/1.1 is spoken over a plain socket rather than http.client: the benchmark's clients share the
    server's two cores, and http.client's header parsing (the email package) and SimpleCookie cost
    several times what the requests themselves do. Only what our server sends is understood: a
    Content-Length body, or a body that ends when the server closes the connection.
    """

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""
        self.connection: socket.socket | None = None
        self.statuses: list[int] = []

    def _connect(self) -> socket.socket:
        if self.connection is None:
            self.connection = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None) -> Response:
        body = urlencode(form, doseq=True).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept-Encoding: identity"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if form is not None:
            head.append("Content-Type: application/x-www-form-urlencoded")
        if form is not None or method not in ("GET", "HEAD"):
            head.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.sendall(message)
                status, response_headers, payload = _read_response(connection, method)
                break
            except (_ClosedBeforeResponse, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server has since closed: a new one is fine once,
                # but only before the server saw the request (nothing at all came back).
                self.close()
                if attempt == 2:
                    raise
        if response_headers.get("connection", [""])[-1].lower() == "close":
            self.close()  # at once: gunicorn's sync worker waits for our side to close before its next request
        for header in response_headers.get("set-cookie", []):
            self._store_cookie(header)
        response = Response(status, payload.decode("utf-8", "replace"), response_headers.get("location", [""])[-1])
        self.statuses.append(response.status)
        self._remember_token(response.body)
        return response

    def _store_cookie(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attributes = attributes.lower()
        if "max-age=0" in attributes.replace(" ", "") or "expires=thu, 01 jan 1970" in attributes:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value  # sent back exactly as received, as a browser does

    def _remember_token(self, body: str) -> None:
        match = _CSRF.search(body) or _META_CSRF.search(body)
        if match:
            self.csrf_token = html.unescape(next(group for group in match.groups() if group))

    def get(self, path: str, headers: dict | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict | None = None, headers: dict | None = None) -> Response:
        form = dict(form or {})
        form.setdefault("csrf_token", self.csrf_token)
        return self.request("POST", path, form=form, headers=headers)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.get("/signin")
        assert page.status == 200, page.status
        response = self.post("/signin", {"email": email, "password": password, "next": "/"})
        assert response.status in (302, 303), (response.status, response.body[:500])
        self.get("/")  # a page with a fresh token bound to the signed-in session

    # The checkout, as a browser does it: each step reads what the previous page gave it.

    def add_to_cart(self, product_id: int, quantity: int = 1) -> Response:
        return self.post("/cart/items", {"product_id": product_id, "quantity": quantity, "source": "", "ref": ""})

    def review(self) -> dict[str, str]:
        """GET /checkout: the place-order form's idempotency key and the default address."""
        page = self.get("/checkout")
        if page.status != 200:
            raise CheckoutStepFailed("review", page)
        key = _IDEMPOTENCY_KEY.search(page.body)
        address = _CHECKED_ADDRESS.search(page.body) or _ANY_ADDRESS.search(page.body)
        if not key or not address:
            raise CheckoutStepFailed("review (no key or address)", page)
        return {"idempotency_key": html.unescape(key.group(1) or key.group(2)), "address_id": address.group(1)}

    def place_order(self, form: dict[str, str]) -> Response:
        return self.post("/checkout", form)

    def pay_with_sandbox(self, pay_path: str) -> Response:
        return self.post(pay_path, {"action": "pay"})

    def empty_cart(self) -> None:
        """Remove every line from the cart page, as a buyer starting over would."""
        for line_id in _REMOVE_ACTION.findall(self.get("/cart").body):
            removed = self.post(f"/cart/items/{line_id}/remove")
            if removed.status != 303:
                raise CheckoutStepFailed("empty cart", removed)


class _ClosedBeforeResponse(ConnectionError):
    """The server closed the connection without answering."""


def _read_response(connection: socket.socket, method: str) -> tuple[int, dict[str, list[str]], bytes]:
    """Read one response: (status, headers by lower-case name, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            if data:
                raise ConnectionError(f"incomplete response head: {data[:200]!r}")
            raise _ClosedBeforeResponse()
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, list[str]] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b""
    if "transfer-encoding" in headers:
        raise ConnectionError("chunked responses are not expected from this server")
    length = headers.get("content-length")
    if length is not None:
        remaining = int(length[-1]) - len(rest)
        parts = [rest]
        while remaining > 0:
            chunk = connection.recv(max(remaining, 65536))
            if not chunk:
                raise ConnectionError("the connection closed inside the body")
            parts.append(chunk)
            remaining -= len(chunk)
        return status, headers, b"".join(parts)
    parts = [rest]
    while chunk := connection.recv(65536):  # no length: the body ends with the connection
        parts.append(chunk)
    return status, headers, b"".join(parts)


class CheckoutStepFailed(Exception):
    def __init__(self, step: str, response: Response) -> None:
        super().__init__(f"{step}: HTTP {response.status}: {response.body[:300]!r}")
        self.step = step
        self.response = response


_IDEMPOTENCY_KEY = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="idempotency_key"')
_CHECKED_ADDRESS = re.compile(r'name="address_id"[^>]*value="(\d+)"[^>]*checked')
_ANY_ADDRESS = re.compile(r'name="address_id"[^>]*value="(\d+)"')
_REMOVE_ACTION = re.compile(r'action="/cart/items/(\d+)/remove"')
PAY_PATH = re.compile(r"^(?:https?://[^/]+)?(/pay/sandbox/(\d+))$")


def buy_once(buyer: Buyer, product_id: int, quantity: int = 1) -> tuple[str, int | None]:
    """Add, review, place and pay: ("paid", checkout id), or (the step that was refused, None).

    A refusal the site explains to the buyer (422 out of stock) is an outcome, not an error; any
    other status raises CheckoutStepFailed.
    """
    added = buyer.add_to_cart(product_id, quantity)
    if added.status == 422:
        return "add_refused", None
    if added.status != 303:
        raise CheckoutStepFailed("add to cart", added)
    placed = buyer.place_order(buyer.review())
    if placed.status == 422:
        return "order_refused", None
    match = PAY_PATH.match(placed.location) if placed.status == 303 else None
    if not match:
        raise CheckoutStepFailed("place order", placed)
    paid = buyer.pay_with_sandbox(match.group(1))
    if paid.status != 303 or f"/checkout/{match.group(2)}" not in paid.location:
        raise CheckoutStepFailed("pay", paid)
    return "paid", int(match.group(2))


@dataclass
class Shop:
    shop_id: int
    product_id: int
    buyer_emails: list[str]
    buyer_ids: list[int]


def seed_shop(database_url: str, *, buyers: int, stock: int, price_fen: int = 19900) -> Shop:
    """Migrate the database and write a merchant's product with `stock` units and `buyers` buyers, each
    with a default address (one password hash for all of them: hashing is slow on purpose)."""
    from zhongcao.accounts.models import User
    from zhongcao.accounts.passwords import hash_password
    from zhongcao.catalog.models import Product
    from zhongcao.catalog.models import Shop as ShopRow
    from zhongcao.commerce.models import Address
    from zhongcao.db import make_engine, new_session
    from zhongcao.migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    password_hash = hash_password(PASSWORD)
    with new_session(engine) as session:
        merchant = User(email="merchant@example.com", handle="merchant", handle_key="merchant", display_name="商家",
                        password_hash=password_hash, is_merchant=True)
        session.add(merchant)
        session.flush()
        shop = ShopRow(owner_id=merchant.id, slug="busy-shop", name="热卖小店")
        session.add(shop)
        session.flush()
        product = Product(shop_id=shop.id, slug="last-units", title="最后几件 The last units", price_fen=price_fen,
                          stock=stock, commission_bp=1000)
        session.add(product)
        emails, ids = [], []
        for number in range(buyers):
            handle = f"buyer{number}"
            user = User(email=f"{handle}@example.com", handle=handle, handle_key=handle, display_name=f"买家{number}",
                        password_hash=password_hash)
            session.add(user)
            session.flush()
            session.add(Address(user_id=user.id, recipient=f"买家{number}", mobile="13800138000", province="上海市",
                                city="上海市", district="徐汇区", detail=f"漕溪北路 {number + 1} 号", is_default=True))
            emails.append(user.email)
            ids.append(user.id)
        session.commit()
        shop_id, product_id = shop.id, product.id
    engine.dispose()
    return Shop(shop_id=shop_id, product_id=product_id, buyer_emails=emails, buyer_ids=ids)


def add_product(database_url: str, shop_id: int, *, stock: int, price_fen: int = 19900) -> int:
    """Put one more product on sale in the shop (while the server runs); returns its id."""
    from zhongcao.catalog.models import Product
    from zhongcao.db import make_engine, new_session

    engine = make_engine(database_url)
    with new_session(engine) as session:
        product = Product(shop_id=shop_id, slug=f"more-{uuid.uuid4().hex[:8]}", title="又一件 Another product",
                          price_fen=price_fen, stock=stock, commission_bp=1000)
        session.add(product)
        session.commit()
        product_id = product.id
    engine.dispose()
    return product_id


def count_outcome(database_url: str, product_id: int) -> dict[str, int]:
    """What the database says about one product after a run: stock left, and the checkouts, orders,
    units, payments and paid orders that hold it."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT (SELECT stock FROM product WHERE id = :id),"
            " count(DISTINCT o.checkout_id), count(DISTINCT o.id), coalesce(sum(l.quantity), 0),"
            " (SELECT count(*) FROM payment WHERE checkout_id IN"
            "   (SELECT o2.checkout_id FROM shop_order o2 JOIN order_line l2 ON l2.order_id = o2.id WHERE l2.product_id = :id)),"
            " count(DISTINCT CASE WHEN o.status = 'paid' THEN o.id END)"
            " FROM order_line l JOIN shop_order o ON o.id = l.order_id WHERE l.product_id = :id"
        ), {"id": product_id}).one()
    engine.dispose()
    return dict(zip(("stock", "checkouts", "orders", "units_sold", "payments", "paid_orders"), row))


def signed_in_by_cookie(base: str, user_id: int, *, epoch: int = 0, secret_key: str = SECRET_KEY) -> Buyer:
    """A buyer whose session cookie says they signed in, exactly what a sign-in leaves behind (the
    suite's `sign_in_as` does the same): argon2 makes each real sign-in cost ~0.4 s of both cores."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    signer_app = Flask("session-cookie")
    signer_app.secret_key = secret_key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer_app)
    buyer = Buyer(base)
    buyer.cookies["session"] = serializer.dumps({"_user_id": f"{user_id}.{epoch}", "_fresh": True})
    page = buyer.get("/")  # the token is minted into the session on the first page
    assert page.status == 200 and buyer.csrf_token, page.status
    return buyer


def sign_in_all(base: str, emails: list[str], threads: int = 8) -> list[Buyer]:
    """Sign every buyer in through the real form, a few at a time (each sign-in hashes a password)."""
    from concurrent.futures import ThreadPoolExecutor

    def sign_in(email: str) -> Buyer:
        buyer = Buyer(base)
        buyer.sign_in(email)
        return buyer

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(sign_in, emails))
