"""Cart, checkout, addresses and the sandbox page over HTTP: each fragment route both ways, errors as 422."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func
from sqlmodel import select

from tests.conftest import TEST_PASSWORD
from zhongcao.catalog.models import Product
from zhongcao.commerce.models import CANCELLED, PAID, Address, CartLine, Checkout, OrderLine

HTMX = {"HX-Request": "true"}


def _htmx(target: str) -> dict:
    return {**HTMX, "HX-Target": target}


def _lines(session):
    session.rollback()  # end the test session's read snapshot: the app wrote through its own session
    return session.exec(select(CartLine)).all()


def _stock(session, product) -> int:
    session.rollback()
    return session.exec(select(Product.stock).where(Product.id == product.id)).one()


def _article_with(make_user, make_article, product, handle=None):
    author = make_user(is_creator=True, handle=handle or f"writer{uuid.uuid4().hex[:5]}")
    article = make_article(author=author, body_md=f"开箱。\n\n::: product {product.slug}\n:::\n")
    return author, article, f"/@{author.handle}/{article.slug}"


# Adding to the cart

def test_an_anonymous_article_page_offers_a_tokenless_add_link_that_credits_the_author(
    client, session, make_user, make_article, make_product
):
    product = make_product(stock=3)
    author, article, url = _article_with(make_user, make_article, product)

    page = client.get(url).get_data(as_text=True)
    link = re.search(r'id="add-to-cart-%d"[^>]*href="([^"]+)"' % product.id, page)
    form = client.get(link.group(1).replace("&amp;", "&"), headers={**_htmx(f"add-to-cart-{product.id}"), "Referer": f"http://localhost{url}"})
    html = form.get_data(as_text=True)
    fields = dict(re.findall(r'name="(product_id|source|ref)" type="hidden" value="([^"]*)"', html))
    added = client.post("/cart/items", data={**fields, "quantity": "2"}, headers=_htmx(f"add-to-cart-{product.id}"))

    assert "csrf_token" not in page and "X-CSRFToken" not in page
    assert form.status_code == 200 and html.lstrip().startswith(f'<form id="add-to-cart-{product.id}"')
    assert fields == {"product_id": str(product.id), "source": "article", "ref": str(article.id)}
    assert added.status_code == 200 and added.headers["HX-Trigger"] == "cart-changed"
    assert "已加入购物车" in added.get_data(as_text=True)
    assert "zc_cart=" in added.headers.get("Set-Cookie", "")
    [line] = _lines(session)
    assert (line.quantity, line.beneficiary_id, line.attribution_ref) == (2, author.id, article.id)


def test_the_add_form_is_a_page_of_its_own_without_htmx(client, make_product):
    product = make_product()

    response = client.get(f"/cart/add?product={product.id}&source=storefront&ref=1")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<!doctype html>" in html and f'id="add-to-cart-{product.id}"' in html and product.title in html


def test_the_add_form_of_a_missing_or_hidden_product_is_not_found(client, make_product):
    hidden = make_product(status="hidden")

    assert client.get(f"/cart/add?product={hidden.id}").status_code == 404
    assert client.get("/cart/add?product=999999").status_code == 404
    assert client.get("/cart/add?product=abc").status_code == 404


def test_adding_without_htmx_redirects_to_the_cart_with_a_message(client, session, make_product):
    product = make_product()

    response = client.post("/cart/items", data={"product_id": product.id, "quantity": "1"})
    cart_page = client.get("/cart").get_data(as_text=True)

    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    assert "已加入购物车" in cart_page and product.title in cart_page
    assert len(_lines(session)) == 1


def test_asking_for_more_than_the_stock_is_a_422_that_says_how_many_are_left(client, session, make_product):
    product = make_product(stock=2)

    fragment = client.post("/cart/items", data={"product_id": product.id, "quantity": "3"}, headers=_htmx(f"add-to-cart-{product.id}"))
    page = client.post("/cart/items", data={"product_id": product.id, "quantity": "3"})

    assert fragment.status_code == 422 and "HX-Trigger" not in fragment.headers
    assert "仅剩 2 件" in fragment.get_data(as_text=True) and "only 2 left" in fragment.get_data(as_text=True)
    assert page.status_code == 422 and "<!doctype html>" in page.get_data(as_text=True)
    assert _lines(session) == []


@pytest.mark.parametrize("quantity", ["", "abc", "0", "100", "1.5"])
def test_bad_quantities_are_a_422_never_a_500(client, make_product, quantity):
    product = make_product()

    response = client.post("/cart/items", data={"product_id": product.id, "quantity": quantity}, headers=_htmx(f"add-to-cart-{product.id}"))

    assert response.status_code == 422
    assert "数量" in response.get_data(as_text=True)


def test_a_bad_product_id_is_a_422(client):
    assert client.post("/cart/items", data={"product_id": "nope", "quantity": "1"}).status_code == 422
    assert client.post("/cart/items", data={"product_id": "424242", "quantity": "1"}).status_code == 422


def test_the_product_page_buy_box_posts_straight_to_the_cart(client, make_product):
    product = make_product(stock=4)

    html = client.get(f"/products/{product.slug}").get_data(as_text=True)

    box = html[html.index('id="buy-box"'):]
    assert f'<form id="add-to-cart-{product.id}"' in box and 'action="/cart/items"' in box


def test_a_storefront_pick_offers_add_to_cart_crediting_the_creator(client, session, make_user, make_article, make_product):
    product = make_product()
    creator, _article, _url = _article_with(make_user, make_article, product, handle="pickmaker")

    html = client.get("/@pickmaker").get_data(as_text=True)
    link = re.search(r'id="add-to-cart-%d"[^>]*href="([^"]+)"' % product.id, html).group(1).replace("&amp;", "&")
    client.post("/cart/items", data={"product_id": product.id, "quantity": "1", "source": "storefront", "ref": str(creator.id)})

    assert "source=storefront" in link and f"ref={creator.id}" in link
    [line] = _lines(session)
    assert (line.beneficiary_id, line.attribution_source) == (creator.id, "storefront")


# The cart and the header count

def test_the_header_count_loads_after_the_page_and_reloads_on_cart_changed(client, make_product):
    home = client.get("/").get_data(as_text=True)
    client.post("/cart/items", data={"product_id": make_product().id, "quantity": "3"})

    count = client.get("/cart/count", headers=_htmx("cart-count")).get_data(as_text=True)

    assert re.search(r'id="cart-count"[^>]*hx-trigger="load, cart-changed from:body"', home)
    assert count.lstrip().startswith('<a id="cart-count"')
    assert 'hx-trigger="cart-changed from:body"' in count and '<span class="cart-badge">3</span>' in count


def test_changing_a_quantity_returns_the_lines_with_htmx_and_redirects_without(client, session, make_product):
    product = make_product(stock=5)
    client.post("/cart/items", data={"product_id": product.id, "quantity": "1"})
    line_id = _lines(session)[0].id

    fragment = client.post(f"/cart/items/{line_id}", data={"quantity": "4"}, headers=_htmx("cart-lines"))
    plain = client.post(f"/cart/items/{line_id}", data={"quantity": "2"})
    too_many = client.post(f"/cart/items/{line_id}", data={"quantity": "6"}, headers=_htmx("cart-lines"))

    assert fragment.status_code == 200 and fragment.headers["HX-Trigger"] == "cart-changed"
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="cart-lines"')
    assert plain.status_code == 303
    assert too_many.status_code == 422 and "仅剩 5 件" in too_many.get_data(as_text=True)
    assert _lines(session)[0].quantity == 2


def test_removing_a_line_and_the_cart_page_both_ways(client, session, make_product):
    product = make_product()
    client.post("/cart/items", data={"product_id": product.id, "quantity": "1"})
    line_id = _lines(session)[0].id

    page = client.get("/cart").get_data(as_text=True)
    fragment = client.get("/cart", headers=_htmx("cart-lines")).get_data(as_text=True)
    removed = client.post(f"/cart/items/{line_id}/remove", headers=_htmx("cart-lines"))

    assert "<!doctype html>" in page and product.title in page
    assert fragment.lstrip().startswith('<div id="cart-lines"') and "<!doctype" not in fragment
    assert removed.status_code == 200 and "购物车是空的" in removed.get_data(as_text=True)
    assert _lines(session) == []


def test_someone_elses_cart_line_cannot_be_touched(client, app, session, make_product):
    product = make_product()
    client.post("/cart/items", data={"product_id": product.id, "quantity": "1"})
    line_id = _lines(session)[0].id
    stranger = app.test_client()

    assert stranger.post(f"/cart/items/{line_id}", data={"quantity": "3"}).status_code == 404
    assert stranger.post(f"/cart/items/{line_id}/remove").status_code == 404
    assert _lines(session)[0].quantity == 1


def test_signing_in_merges_the_anonymous_cart_into_the_account(client, session, make_user, make_product):
    make_user(email="merge@example.com")  # the account the anonymous cart merges into
    product = make_product(stock=5)
    client.post("/cart/items", data={"product_id": product.id, "quantity": "2"})

    signed_in = client.post("/signin", data={"email": "merge@example.com", "password": TEST_PASSWORD})

    assert signed_in.status_code == 303
    assert "zc_cart=;" in " ".join(signed_in.headers.getlist("Set-Cookie"))
    [line] = _lines(session)
    assert line.quantity == 2
    assert "<span class=\"cart-badge\">2</span>" in client.get("/cart/count").get_data(as_text=True)


# Checkout

@pytest.fixture
def shopper(client, session, make_user, make_product, make_address, sign_in_as):
    """A signed-in buyer with an address and two of a ¥88.00 product in the cart."""
    buyer = make_user()
    sign_in_as(client, buyer)
    product = make_product(price_fen=8800, stock=5)
    client.post("/cart/items", data={"product_id": product.id, "quantity": "2"})
    return buyer, product, make_address(buyer)


def _review(client) -> dict:
    html = client.get("/checkout").get_data(as_text=True)
    return {"idempotency_key": re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)}


def test_checkout_needs_sign_in(client):
    response = client.get("/checkout")

    assert response.status_code == 302 and "/signin" in response.headers["Location"]


def test_the_review_page_shows_totals_the_default_address_and_a_fresh_key(client, shopper):
    _buyer, _product, address = shopper

    first, second = client.get("/checkout").get_data(as_text=True), client.get("/checkout").get_data(as_text=True)

    assert "¥176.00" in first
    assert re.search(r'name="address_id" value="%d" checked' % address.id, first)
    assert _review(client)["idempotency_key"] not in first  # each review page gets a new key
    assert first != second


def test_placing_an_order_sends_the_buyer_to_the_sandbox_and_a_double_submit_makes_one(client, session, shopper):
    buyer, product, address = shopper
    form = {**_review(client), "address_id": address.id, "price_fen": "1", "unit_price_fen": "1", "total_fen": "1"}

    first = client.post("/checkout", data=form)
    second = client.post("/checkout", data=form)

    checkout = session.exec(select(Checkout)).one()
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] == f"/pay/sandbox/{checkout.id}"
    assert (checkout.buyer_id, checkout.total_fen) == (buyer.id, 17600)  # the form's prices were ignored
    assert session.exec(select(OrderLine.unit_price_fen)).one() == 8800
    assert _stock(session, product) == 3


def test_placing_an_order_without_an_address_is_a_422(client, session, shopper):
    response = client.post("/checkout", data=_review(client))

    assert response.status_code == 422
    assert "请选择收货地址" in response.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(Checkout)).one() == 0


def test_someone_elses_address_is_refused_with_a_422(client, session, shopper, make_user, make_address):
    theirs = make_address(make_user())

    response = client.post("/checkout", data={**_review(client), "address_id": theirs.id})

    assert response.status_code == 422 and "请选择收货地址" in response.get_data(as_text=True)


def test_an_order_the_stock_cannot_cover_is_a_422_that_names_the_product(client, session, shopper):
    _buyer, product, address = shopper
    product = session.get(Product, product.id)
    product.stock = 1
    session.add(product)
    session.commit()

    response = client.post("/checkout", data={**_review(client), "address_id": address.id})

    assert response.status_code == 422
    assert "仅剩 1 件" in response.get_data(as_text=True)


def test_the_sandbox_page_is_labelled_and_paying_marks_the_checkout_paid(client, session, shopper):
    _buyer, _product, address = shopper
    pay_url = client.post("/checkout", data={**_review(client), "address_id": address.id}).headers["Location"]

    page = client.get(pay_url).get_data(as_text=True)
    paid = client.post(pay_url, data={"action": "pay"})
    after = client.get(paid.headers["Location"]).get_data(as_text=True)

    assert "沙箱支付 · Sandbox payment (no real money)" in page
    assert paid.status_code == 303
    assert session.exec(select(Checkout.status)).one() == PAID
    assert "已支付" in after and "支付成功" in after


def test_paying_tells_the_merchant_once_even_when_the_pay_button_is_pressed_twice(client, session, shopper):
    from zhongcao.catalog.models import Shop
    from zhongcao.social.models import Notification

    _buyer, product, address = shopper
    pay_url = client.post("/checkout", data={**_review(client), "address_id": address.id}).headers["Location"]

    client.post(pay_url, data={"action": "pay"})
    client.post(pay_url, data={"action": "pay"})

    owner_id = session.exec(select(Shop.owner_id).where(Shop.id == product.shop_id)).one()
    notices = session.exec(select(Notification).where(Notification.recipient_id == owner_id)).all()
    assert len(notices) == 1


def test_cancelling_in_the_sandbox_gives_the_stock_back(client, session, shopper):
    _buyer, product, address = shopper
    pay_url = client.post("/checkout", data={**_review(client), "address_id": address.id}).headers["Location"]
    assert _stock(session, product) == 3

    client.post(pay_url, data={"action": "cancel"})

    session.rollback()
    assert session.exec(select(Checkout.status)).one() == CANCELLED
    assert _stock(session, product) == 5
    assert client.get(pay_url).status_code == 303  # nothing left to pay


def test_another_buyers_checkout_is_not_found(client, app, session, shopper, make_user, sign_in_as):
    _buyer, _product, address = shopper
    client.post("/checkout", data={**_review(client), "address_id": address.id})
    checkout_id = session.exec(select(Checkout.id)).one()
    other = app.test_client()
    sign_in_as(other, make_user())

    assert other.get(f"/checkout/{checkout_id}").status_code == 404
    assert other.get(f"/pay/sandbox/{checkout_id}").status_code == 404
    assert other.post(f"/pay/sandbox/{checkout_id}", data={"action": "pay"}).status_code == 404


# Addresses

def test_bad_address_input_is_a_422_with_every_message(client, session, make_user, sign_in_as):
    sign_in_as(client, make_user())

    response = client.post("/addresses/new", data={"recipient": "", "mobile": "12345", "province": "广东省",
                                                   "city": "", "district": "南山区", "detail": "x" * 201})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for text in ("请填写收货人", "11 位中国大陆手机号", "请填写城市", "详细地址最多 200 个字"):
        assert text in html
    assert session.exec(select(func.count()).select_from(Address)).one() == 0


def test_saving_an_address_returns_to_a_local_next_only(client, session, make_user, sign_in_as):
    sign_in_as(client, make_user())
    good = {"recipient": "王五", "mobile": "+86 150 0000 1111", "province": "浙江省", "city": "杭州市",
            "district": "西湖区", "detail": "文三路 1 号"}

    back_to_checkout = client.post("/addresses/new?next=/checkout", data={**good, "next": "/checkout"})
    elsewhere = client.post("/addresses/new", data={**good, "next": "https://evil.example/"})

    assert back_to_checkout.status_code == 303 and back_to_checkout.headers["Location"] == "/checkout"
    assert elsewhere.headers["Location"] == "/addresses"
    assert {a.mobile for a in session.exec(select(Address))} == {"15000001111"}


def test_another_persons_address_cannot_be_edited_or_deleted(client, session, make_user, make_address, sign_in_as):
    address = make_address(make_user())
    sign_in_as(client, make_user())

    assert client.get(f"/addresses/{address.id}/edit").status_code == 404
    assert client.post(f"/addresses/{address.id}/delete").status_code == 404
    assert session.get(Address, address.id) is not None


# With CSRF on, as in production

@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_with_csrf_on_the_add_form_carries_a_token_and_a_post_without_one_fails(client, session, make_product):
    product = make_product()

    refused = client.post("/cart/items", data={"product_id": product.id, "quantity": "1"})
    html = client.get(f"/cart/add?product={product.id}", headers=_htmx(f"add-to-cart-{product.id}")).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    accepted = client.post("/cart/items", data={"product_id": product.id, "quantity": "1", "csrf_token": token},
                           headers=_htmx(f"add-to-cart-{product.id}"))

    assert refused.status_code == 400
    assert accepted.status_code == 200
    assert len(_lines(session)) == 1


# What each checkout step costs the database (bench/checkout.py drives exactly these four requests)

@pytest.fixture
def statements(engine):
    """The SQL statements (not BEGIN, COMMIT or savepoints) the app runs inside each `with step(name)` block,
    PlainQuery's reads on bare DB-API connections included."""
    from contextlib import contextmanager

    from zhongcao.plainsql import recording_statements

    seen: dict[str, list[str]] = {}

    @contextmanager
    def step(name: str):
        with recording_statements(engine) as statements:
            yield
        seen[name] = [sql for sql in statements if sql.split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE")]

    yield step, seen


def test_each_checkout_step_runs_a_small_fixed_number_of_statements(client, shopper, statements):
    _buyer, product, address = shopper
    step, seen = statements
    client.post("/checkout", data={**_review(client), "address_id": address.id})  # an order before: nothing piles up

    with step("add"):
        assert client.post("/cart/items", data={"product_id": product.id, "quantity": "1"}).status_code == 303
    with step("review"):
        form = _review(client)
    with step("place"):
        pay_url = client.post("/checkout", data={**form, "address_id": address.id}).headers["Location"]
    with step("pay"):
        assert client.post(pay_url, data={"action": "pay"}).status_code == 303

    counts = {name: len(run) for name, run in seen.items()}
    # Each step reads the signed-in account first. Then add: the cart (found and stamped in one
    # statement), the product with its line, the insert. Review: the cart's lines, the addresses.
    # Place: the cart (stamped), its lines with the address, the checkout, the stock (a sale that
    # leaves some needs no sold-out check), the order, its lines, its event, the cart lines gone. Pay:
    # the claim, the payment, the lines with the shops' owners, the orders, their events, the ledger,
    # and the merchant's notice.
    assert counts == {"add": 4, "review": 3, "place": 9, "pay": 8}, seen
