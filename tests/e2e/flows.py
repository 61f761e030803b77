"""What people do on the site, through HTTP with Flask's test client: read an article, add from its
product block, check out with the sandbox, ship, confirm receipt. Every step reads the page it came
from (links, forms and their fields) rather than knowing URLs by heart, as a browser would."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from sqlmodel import select

from tests.conftest import TEST_PASSWORD
from zhongcao.commerce.models import Checkout, Order

# The product the shop_scene fixture (tests/e2e/conftest.py) sells through a creator's article:
# 33.33 yuan × 2 at 12.5 %: 6666 fen paid; commission floor(6666 × 1250 / 10000) = floor(833.25) = 833;
# platform fee floor(6666 × 200 / 10000) = floor(133.32) = 133; the merchant keeps 6666 − 833 − 133 = 5700.
PRICE_FEN, QUANTITY, RATE_BP = 3333, 2, 1250
PAID_FEN, COMMISSION_FEN, FEE_FEN, MERCHANT_FEN = 6666, 833, 133, 5700

_ADD_LINK = re.compile(r'href="(/cart/add\?product=(\d+)[^"]*)"')
_SHARE_URL = re.compile(r'(https?://[^"\s<]+)?(/s/[A-Za-z0-9_-]+)')


class _Forms(HTMLParser):
    """Every <form>: its action, method and the values its fields would submit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {name: (value if value is not None else "") for name, value in attrs}
        if tag == "form":
            self._current = {"action": attributes.get("action", ""), "method": attributes.get("method", "get").lower(),
                             "fields": {}, "radios": {}, "buttons": []}
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button", "select", "textarea"):
            name, kind = attributes.get("name"), attributes.get("type", "text" if tag == "input" else tag)
            if not name:
                return
            if tag == "button" or kind == "submit":
                self._current["buttons"].append((name, attributes.get("value", "")))
            elif kind == "radio":
                self._current["radios"].setdefault(name, []).append(attributes.get("value", ""))
                if "checked" in attributes:
                    self._current["fields"][name] = attributes.get("value", "")
            elif kind == "checkbox":
                if "checked" in attributes:
                    self._current["fields"][name] = attributes.get("value", "y")
            else:
                self._current["fields"][name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_in(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def form_posting_to(page: str, action_part: str) -> dict:
    """The first form whose action contains `action_part`; fails the test if the page has none."""
    for form in forms_in(page):
        if action_part in form["action"]:
            return form
    raise AssertionError(f"no form posting to {action_part!r} on the page")


def form_with_field(page: str, field: str) -> dict:
    """The first form that has a field called `field` (for forms that post back to their own page)."""
    for form in forms_in(page):
        if field in form["fields"] or field in form["radios"]:
            return form
    raise AssertionError(f"no form with a {field!r} field on the page")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def sign_in_through_the_form(client, user) -> None:
    """The real sign-in: the form, the password check, and (for an anonymous cart) the merge."""
    page = text_of(client.get("/signin"))
    form = form_posting_to(page, "/signin")
    response = client.post("/signin", data={**form["fields"], "email": user.email, "password": TEST_PASSWORD})
    assert response.status_code in (302, 303), text_of(response)[:500]


def article_path(article, author) -> str:
    return f"/@{author.handle}/{article.slug}"


def add_from_article(client, path: str, product, *, quantity: int = 1) -> None:
    """Open the article, follow its block's add-to-cart link, and submit the little form it answers with."""
    page = client.get(path)
    assert page.status_code == 200, path
    links = {int(product_id): html.unescape(href) for href, product_id in _ADD_LINK.findall(text_of(page))}
    assert product.id in links, f"no add-to-cart link for product {product.id} on {path}"
    confirm = client.get(links[product.id], headers={"Referer": f"http://localhost{path}"})
    assert confirm.status_code == 200
    form = form_posting_to(text_of(confirm), "/cart/items")
    response = client.post(form["action"], data={**form["fields"], "quantity": str(quantity)})
    assert response.status_code == 303, text_of(response)[:500]


def add_from_product_page(client, product, *, quantity: int = 1) -> None:
    page = text_of(client.get(f"/products/{product.slug}"))
    form = form_posting_to(page, "/cart/items")
    response = client.post(form["action"], data={**form["fields"], "quantity": str(quantity)})
    assert response.status_code == 303, text_of(response)[:500]


def add_address(client) -> None:
    page = text_of(client.get("/addresses/new"))
    form = form_with_field(page, "recipient")
    response = client.post("/addresses/new", data={
        **form["fields"], "recipient": "林小草", "mobile": "13800138000", "province": "上海市", "city": "上海市",
        "district": "徐汇区", "detail": "漕溪北路 88 号 12 楼", "make_default": "y",
    })
    assert response.status_code == 303, text_of(response)[:800]


def review_checkout(client) -> dict:
    """GET /checkout: the review page's place-order form (with its idempotency key)."""
    response = client.get("/checkout")
    assert response.status_code == 200, text_of(response)[:500]
    form = form_posting_to(text_of(response), "/checkout")
    assert form["fields"].get("idempotency_key"), "the review page carries an idempotency key"
    if not form["fields"].get("address_id") and form["radios"].get("address_id"):
        form["fields"]["address_id"] = form["radios"]["address_id"][0]
    return form


def place_order(client, form: dict) -> str:
    """Submit the review form; returns where the site sends the buyer to pay."""
    response = client.post("/checkout", data=form["fields"])
    assert response.status_code == 303, text_of(response)[:800]
    return response.headers["Location"]


def pay_with_sandbox(client, pay_location: str) -> int:
    """Open the sandbox page and press Pay; returns the checkout id."""
    path = pay_location.replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200, text_of(page)[:500]
    assert "沙箱支付" in text_of(page), "the sandbox is clearly labelled"
    form = form_posting_to(text_of(page), "/pay/sandbox/")
    response = client.post(form["action"], data={**form["fields"], "action": "pay"})
    assert response.status_code == 303
    return int(path.rstrip("/").rsplit("/", 1)[1])


def buy_everything_in_cart(client) -> int:
    """Review, place the order and pay with the sandbox; returns the checkout id."""
    return pay_with_sandbox(client, place_order(client, review_checkout(client)))


def orders_of(session, checkout_id: int) -> list[Order]:
    session.rollback()
    return list(session.exec(select(Order).where(Order.checkout_id == checkout_id).order_by(Order.id)))


def checkout_row(session, checkout_id: int) -> Checkout:
    session.rollback()
    return session.get(Checkout, checkout_id, populate_existing=True)


def ship(merchant_client, order: Order, *, carrier: str = "顺丰速运", tracking: str = "SF1234567890") -> None:
    """The merchant ships from the order page's ship form."""
    page = text_of(merchant_client.get(f"/orders/{order.number}"))
    form = form_posting_to(page, f"/shop/orders/{order.number}/ship")
    fields = dict(form["fields"])
    fields.update({f"ship-{order.id}-carrier": carrier, f"ship-{order.id}-tracking_number": tracking})
    response = merchant_client.post(form["action"], data=fields)
    assert response.status_code == 303


def confirm_receipt(buyer_client, order: Order) -> None:
    page = text_of(buyer_client.get(f"/orders/{order.number}"))
    form = form_posting_to(page, f"/orders/{order.number}/receive")
    response = buyer_client.post(form["action"], data=form["fields"])
    assert response.status_code == 303


def run_due_at(app, moment) -> str:
    """`zhongcao run-due --now <moment>`, as cron would run it; returns its output."""
    result = app.test_cli_runner().invoke(args=["zhongcao", "run-due", "--now", moment.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def share_url_for_article(sharer_client, article) -> str:
    """The sharer's personal link for an article, as the share dialog shows it (a local path)."""
    page = text_of(sharer_client.get(f"/share/article/{article.id}"))
    match = _SHARE_URL.search(page)
    assert match, "the share dialog shows a /s/<code> link"
    return match.group(2)
