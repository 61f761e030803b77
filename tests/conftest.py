"""Shared fixtures: a real, migrated database per test (SQLite always, PostgreSQL too when
ZHONGCAO_TEST_DATABASE_URL is set), the app, a client, factories that write real rows, a live
server on 127.0.0.1 and headless Chromium for browser journeys."""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from zhongcao import create_app
from zhongcao.db import metadata, new_session
from zhongcao.migrations import upgrade

PG_URL = os.environ.get("ZHONGCAO_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_PASSWORD = "correct-horse-battery-staple-42"


def _migrated_sqlite_template(directory: Path) -> Path:
    from zhongcao.db import make_engine

    path = directory / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


class PostgresDatabase:
    """A database of our own on the test server, created once per run and dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        base = make_url(server_url)
        self.name = f"zhongcao_test_{uuid.uuid4().hex[:12]}"
        self.admin_url = base
        self.url = base.set(database=self.name)
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        admin.dispose()
        from zhongcao.db import make_engine

        engine = make_engine(self.url.render_as_string(hide_password=False))
        upgrade(engine)
        engine.dispose()

    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def empty_tables(self) -> None:
        engine = create_engine(self.url)
        # content_version is seeded by a migration: reset it rather than delete it.
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables if table.name != "content_version")
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            connection.exec_driver_sql("UPDATE content_version SET value = 0")
        engine.dispose()

    def drop(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": self.name},
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}"')
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    return _migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase | None]:
    if not PG_URL:
        yield None
        return
    database = PostgresDatabase(PG_URL)
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template) -> Iterator[str]:
    """A freshly migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "zhongcao.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    database.empty_tables()
    yield database.url_string()


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module (or parametrize) to change settings for its app."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_overrides):
    settings = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "test-secret-" + "x" * 32,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "FETCH_REMOTE_IMAGES": False,
        "SERVER_NAME": None,
    }
    settings.update(app_overrides)
    application = create_app(settings)
    yield application
    application.extensions["zhongcao.engine"].dispose()


@pytest.fixture
def engine(app):
    return app.extensions["zhongcao.engine"]


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with new_session(engine) as db:
        yield db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash() -> str:
    from zhongcao.accounts.passwords import hash_password

    return hash_password(TEST_PASSWORD)


@pytest.fixture
def make_user(session, password_hash):
    """Write a real user; roles by keyword (is_creator=True …). Password is TEST_PASSWORD."""
    from zhongcao.accounts.models import User

    counter = {"n": 0}

    def factory(**overrides) -> User:
        counter["n"] += 1
        handle = overrides.pop("handle", f"user{counter['n']}_{uuid.uuid4().hex[:4]}")
        user = User(
            email=overrides.pop("email", f"{handle.lower()}@example.com"),
            handle=handle,
            handle_key=handle.lower(),
            display_name=overrides.pop("display_name", handle),
            password_hash=password_hash,
            **overrides,
        )
        session.add(user)
        session.commit()
        return user

    return factory


@pytest.fixture
def sign_in_as():
    """Sign a test client in as `user` by writing the Flask-Login session, as a real sign-in would."""

    def sign_in(client, user) -> None:
        with client.session_transaction() as cookie:
            cookie["_user_id"] = f"{user.id}.{user.session_epoch}"
            cookie["_fresh"] = True

    return sign_in


@pytest.fixture
def make_shop(session, make_user):
    from zhongcao.catalog.models import Shop

    def factory(**overrides) -> Shop:
        owner = overrides.pop("owner", None) or make_user(is_merchant=True)
        slug = overrides.pop("slug", f"shop-{uuid.uuid4().hex[:6]}")
        shop = Shop(owner_id=owner.id, slug=slug, name=overrides.pop("name", slug), **overrides)
        session.add(shop)
        session.commit()
        return shop

    return factory


@pytest.fixture
def make_category(session):
    from zhongcao.catalog.models import Category

    def factory(**overrides) -> Category:
        slug = overrides.pop("slug", f"cat-{uuid.uuid4().hex[:6]}")
        category = Category(slug=slug, name_zh=overrides.pop("name_zh", "分类"), name_en=overrides.pop("name_en", slug), **overrides)
        session.add(category)
        session.commit()
        return category

    return factory


@pytest.fixture
def make_product(session, make_shop):
    from zhongcao.catalog.models import Product

    def factory(**overrides) -> Product:
        shop = overrides.pop("shop", None) or make_shop()
        slug = overrides.pop("slug", f"product-{uuid.uuid4().hex[:6]}")
        product = Product(
            shop_id=shop.id,
            slug=slug,
            title=overrides.pop("title", f"好物 {slug}"),
            price_fen=overrides.pop("price_fen", 19900),
            stock=overrides.pop("stock", 10),
            commission_bp=overrides.pop("commission_bp", 1000),
            **overrides,
        )
        session.add(product)
        session.commit()
        return product

    return factory


class LiveServer:
    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """The app served by a threaded server on 127.0.0.1 (an ephemeral port), with CSRF on as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.stop()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run should install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def outbox(app):
    """The mail the app sends, recorded in memory (MAIL_BACKEND switched to "memory")."""
    from zhongcao import mail

    return mail.outbox(app)


@pytest.fixture
def make_article(session, make_user):
    """Write a real article through articles.services.save_article (and publish it unless publish=False).

    make_article(author=None, title=..., body_md=..., publish=True, **save_article_kwargs) -> Article;
    without an author a new creator is made.
    """
    from zhongcao.articles.services import publish_article, save_article

    counter = {"n": 0}

    def factory(author=None, title=None, body_md="种草正文 · Body text.", publish=True, **overrides):
        counter["n"] += 1
        author = author or make_user(is_creator=True)
        article = save_article(
            session,
            author_id=author.id,
            title=title or f"测试笔记 Test article {counter['n']}",
            body_md=body_md,
            **overrides,
        )
        if publish:
            article = publish_article(session, article_id=article.id, author_id=author.id, now=overrides.get("now"))
        return article

    return factory


@pytest.fixture
def make_order(session, make_user, make_product):
    """Place a real order through cart → checkout (→ sandbox payment unless paid=False), one shop.

    make_order(buyer=None, items=[(product, quantity)] or None, paid=True, now=None, beneficiary=None)
    -> Order (reloaded): the first shop's order when the products come from several shops (拆单).
    Without items, one new product (stock 10, ¥199.00, 10%) × 2 is bought.
    A `beneficiary` (a user) is frozen on every line as an article credit.
    """
    from sqlmodel import select

    from zhongcao.clock import utcnow
    from zhongcao.commerce import addresses, cart, checkout, payments
    from zhongcao.commerce.models import CartLine, Order

    def factory(buyer=None, items=None, paid=True, now=None, beneficiary=None):
        now = now or utcnow()
        buyer = buyer or make_user()
        items = items or [(make_product(), 2)]
        address = addresses.find_default_address(session, user_id=buyer.id) or addresses.save_address(
            session, user_id=buyer.id, recipient="张三", mobile="13800138000", province="上海市", city="上海市",
            district="徐汇区", detail="漕溪北路 1 号",
        )
        own_cart = cart.open_cart(session, owner_id=buyer.id)
        for product, quantity in items:
            line = cart.add_to_cart(session, cart_id=own_cart.id, product_id=product.id, quantity=quantity,
                                    buyer_id=buyer.id, now=now)
            if beneficiary is not None:
                line = session.get(CartLine, line.id)
                line.beneficiary_id, line.attribution_source = beneficiary.id, "article"
                session.add(line)
                session.commit()
        placed = checkout.place_order(session, buyer_id=buyer.id, cart_id=own_cart.id, address_id=address.id,
                                      idempotency_key=uuid.uuid4().hex, now=now)
        if paid:
            payments.mark_checkout_paid(session, checkout_id=placed.id, provider="sandbox",
                                        provider_ref=f"sandbox-{uuid.uuid4().hex}", amount_fen=placed.total_fen, now=now)
        order = session.exec(select(Order).where(Order.checkout_id == placed.id).order_by(Order.id)).first()
        session.refresh(order)
        return order

    return factory


@pytest.fixture
def make_address(session):
    """make_address(user, **fields) -> Address: a saved shipping address (through commerce.addresses.save_address)."""
    from zhongcao.commerce.addresses import save_address

    def factory(user, **overrides):
        fields = dict(recipient="张三", mobile="13800138000", province="上海市", city="上海市", district="徐汇区",
                      detail="漕溪北路 1 号 101 室")
        fields.update(overrides)
        return save_address(session, user_id=user.id, **fields)

    return factory


@pytest.fixture
def make_cart(session, make_user):
    """make_cart(buyer=None, lines=[(product, quantity), …] or [(product, quantity, add_to_cart kwargs), …]) -> Cart.

    The buyer's own cart (a new user without `buyer`), filled through commerce.cart.add_to_cart.
    """
    from zhongcao.commerce import cart as carts

    def factory(buyer=None, lines=()):
        buyer = buyer or make_user()
        cart = carts.open_cart(session, owner_id=buyer.id)
        for product, quantity, *rest in lines:
            carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=quantity,
                              buyer_id=buyer.id, **(rest[0] if rest else {}))
        return cart

    return factory
