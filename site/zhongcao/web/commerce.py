"""Cart, header cart count, checkout, the address book and the sandbox payment page (issue 4 §1–3).

Adding to the cart from a page that may be cached. Anonymous article pages are served from a
shared cache and carry no CSRF token, so the card's button cannot POST. It is a plain link,
`GET /cart/add?product=…&source=article&ref=…`, that changes nothing: it answers with a small form
(quantity, hidden product/source/ref, and a CSRF token bound to *this* reader's session). static/app.js
has htmx swap that form in place of the link (article HTML may hold no hx-* attributes at all);
without JavaScript it is a page of its own. Submitting it is an
ordinary CSRF-protected POST to /cart/items. Product pages and storefronts are never cached, so they
render that form straight away. The attribution hidden fields are only hints: the domain checks that
the article really features the product and that the creator really picks it (commerce/attribution.py).

Anonymous carts are found by a random token in the signed `zc_cart` cookie and merged into the
account at sign-in (`merge_anonymous_cart`, called from accounts._start_session).

Fragments here may appear many times on one page (one add-to-cart form per product card), so their
root ids are the file name in kebab-case plus the product id: `add-to-cart-<id>`.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, abort, after_this_request, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from htmx_flask import make_response, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.utils import cached_property
from wtforms import BooleanField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import HiddenInput, NumberInput

from zhongcao import db_session
from zhongcao.attribution.clicks import ATTRIBUTION_COOKIE, DEFAULT_WINDOW_DAYS, Attribution, read_attribution
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product
from zhongcao.clock import utcnow
from zhongcao.commerce import addresses, attribution, cart as carts, checkout as checkouts, payments
from zhongcao.commerce.models import SOURCE_ARTICLE, SOURCE_STOREFRONT
from zhongcao.config import is_production
from zhongcao.errors import DomainError, NotFound
from zhongcao.web import messages
from zhongcao.web.accounts import attach_error
from zhongcao.web.auth import current_user_id
from zhongcao.web.errors import render_error
from zhongcao.web.orders import announce_order_change
from zhongcao.web.forms import REQUIRED
from zhongcao.web.security import safe_next

bp = Blueprint("commerce", __name__)


@bp.record_once
def _warn_about_the_sandbox(state) -> None:
    # The sandbox is refused wherever it would be used in production (payments.SandboxProvider); say so at start.
    if is_production(state.app.config) and state.app.config.get("PAYMENT_PROVIDER") == payments.SANDBOX:
        state.app.logger.warning("PAYMENT_PROVIDER is 'sandbox', which production refuses: set ZHONGCAO_PAYMENT_PROVIDER=stripe")

CART_COOKIE = "zc_cart"
CART_COOKIE_MAX_AGE = 30 * 24 * 3600
ADD_TO_CART = "add-to-cart"
CART_LINES = "cart-lines"
CART_COUNT = "cart-count"
_QUANTITY_RANGE = "数量为 1–99 · Quantity 1–99"


class CheckedForm(FlaskForm):
    """A form posted to a view that CSRFProtect has already guarded (it checks every unsafe request
    before the view runs): checking the token again, and minting one for a field that a redirect never
    renders, cost about 0.1 ms per POST. Templates render the token with `csrf_token()` instead. Should
    the global check be turned off (WTF_CSRF_CHECK_DEFAULT), the form checks the token itself again."""

    class Meta:
        @cached_property
        def csrf(self) -> bool:
            config = current_app.config
            return bool(config.get("WTF_CSRF_ENABLED", True) and not config.get("WTF_CSRF_CHECK_DEFAULT", True))


class AddToCartForm(CheckedForm):
    product_id = IntegerField(validators=[InputRequired(REQUIRED)], widget=HiddenInput())
    quantity = IntegerField("数量 Quantity", default=1, widget=NumberInput(min=1, max=carts.MAX_LINE_QUANTITY),
                            validators=[InputRequired(REQUIRED), NumberRange(1, carts.MAX_LINE_QUANTITY, _QUANTITY_RANGE)])
    source = HiddenField()
    ref = HiddenField()


class QuantityForm(FlaskForm):
    quantity = IntegerField("数量 Quantity", widget=NumberInput(min=0, max=carts.MAX_LINE_QUANTITY),
                            validators=[InputRequired(REQUIRED), NumberRange(0, carts.MAX_LINE_QUANTITY, _QUANTITY_RANGE)])


class PlaceOrderForm(CheckedForm):
    address_id = IntegerField(validators=[InputRequired(messages.text("address_required"))])  # radios, drawn by the template
    # Generated into the page once; a double submit or a retried POST carries the same key.
    idempotency_key = HiddenField(validators=[DataRequired(REQUIRED), Length(max=checkouts.MAX_KEY_LENGTH)])


def _length(name: str) -> Length:
    return Length(max=addresses.LIMITS[name], message=messages.text(f"{name}_too_long"))


class AddressForm(FlaskForm):
    recipient = StringField("收货人 Recipient", validators=[DataRequired(messages.text("recipient_required")), _length("recipient")])
    mobile = StringField("手机号 Mobile", validators=[DataRequired(messages.text("mobile_required")), _length("mobile")],
                         description="中国大陆 11 位手机号，可带 +86 · 11-digit mainland mobile, +86 optional")
    province = StringField("省份 Province", validators=[DataRequired(messages.text("province_required")), _length("province")])
    city = StringField("城市 City", validators=[DataRequired(messages.text("city_required")), _length("city")])
    district = StringField("区县 District", validators=[DataRequired(messages.text("district_required")), _length("district")])
    detail = StringField("详细地址 Street address", validators=[DataRequired(messages.text("detail_required")), _length("detail")],
                         description="街道、门牌号、楼层 · Street, number, floor")
    make_default = BooleanField("设为默认地址 Make this my default address")
    next = HiddenField()


# Which cart is this reader's?

def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="zhongcao.cart.v1")


def _anonymous_token() -> str | None:
    raw = request.cookies.get(CART_COOKIE)
    if not raw or len(raw) > 256:
        return None
    try:
        token = _signer().loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) and 16 <= len(token) <= 64 else None


def _readers_cart() -> dict:
    """Which cart to read for this reader: the account's (found in the same query as what is read from
    it), or the anonymous cart of the cookie's token."""
    if current_user.is_authenticated:
        return {"owner_id": current_user.id}
    return {"cart_id": _find_cart_id()}


def _find_cart_id() -> int | None:
    if current_user.is_authenticated:
        cart = carts.find_cart(db_session(), owner_id=current_user.id)
    else:
        token = _anonymous_token()
        cart = carts.find_cart(db_session(), token=token) if token else None
    return cart.id if cart else None


def _open_cart_id() -> int:
    if current_user.is_authenticated:
        return carts.open_cart(db_session(), owner_id=current_user.id).id
    token = _anonymous_token()
    if token is None:
        token = carts.new_cart_token()
        signed = _signer().dumps(token)

        @after_this_request
        def _remember(response):
            response.set_cookie(CART_COOKIE, signed, max_age=CART_COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                                secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
            return response

    return carts.open_cart(db_session(), token=token).id


def merge_anonymous_cart(user_id: int) -> None:
    """Move the browser's anonymous cart into `user_id`'s cart and forget the cookie (called at sign-in)."""
    token = _anonymous_token()
    if token is None:
        return
    carts.merge_carts(db_session(), token=token, owner_id=user_id)

    @after_this_request
    def _forget(response):
        response.delete_cookie(CART_COOKIE)
        return response


def _share_click() -> Attribution | None:
    return read_attribution(
        request.cookies.get(ATTRIBUTION_COOKIE), secret=current_app.config["SECRET_KEY"], now=utcnow(),
        window_days=int(current_app.config.get("ATTRIBUTION_WINDOW_DAYS", DEFAULT_WINDOW_DAYS)),
    )


def _clean_source(source: str | None, ref: str | int | None) -> tuple[str | None, int | None]:
    source = source if source in (SOURCE_ARTICLE, SOURCE_STOREFRONT) else None
    ref_text = str(ref or "").strip()
    return source, (int(ref_text) if source and ref_text.isdigit() and len(ref_text) < 12 else None)


def _article_from_referrer() -> int | None:
    # Article cards are rendered without knowing their article, so the article is the page the
    # reader came from. Only a hint: decide_credit checks the article features the product.
    parts = urlsplit(request.referrer or "")
    if parts.netloc and parts.netloc != request.host:
        return None
    segments = parts.path.strip("/").split("/")
    if len(segments) != 2 or not segments[0].startswith("@"):
        return None
    return attribution.find_public_article_id(db_session(), handle=segments[0][1:], slug=segments[1])


def _product_for_sale(product_id: int | None) -> Product:
    product = db_session().get(Product, product_id) if product_id else None
    if product is None or product.status != PRODUCT_ACTIVE:
        raise NotFound()
    return product


@bp.app_template_global("commerce_add_form")
def commerce_add_form(product: Product) -> AddToCartForm:
    """A fresh add-to-cart form for `product`, for pages that include the form directly (the product page)."""
    return AddToCartForm(formdata=None, data={"product_id": product.id, "quantity": 1})


def _wants(fragment: str) -> bool:
    return (request.htmx.target or "").startswith(fragment) and not request.htmx.history_restore_request


# Adding to the cart

@bp.get("/cart/add")
def show_add_form():
    product = _product_for_sale(request.args.get("product", type=int))
    source, ref = _clean_source(request.args.get("source"), request.args.get("ref"))
    if source == SOURCE_ARTICLE and ref is None:
        ref = _article_from_referrer()
    form = AddToCartForm(formdata=None, data={"product_id": product.id, "quantity": 1, "source": source or "", "ref": ref or ""})
    return _add_form_response(form, product)


@bp.post("/cart/items")
def add_item():
    form = AddToCartForm()
    added, product = False, None
    if form.validate_on_submit():
        source, ref = _clean_source(form.source.data, form.ref.data)
        # A signed-in buyer's cart is found (or made) inside the add's own transaction.
        cart = {"owner_id": current_user.id} if current_user.is_authenticated else {"cart_id": _open_cart_id()}
        try:
            line = carts.add_to_cart(
                db_session(), **cart, product_id=form.product_id.data, quantity=form.quantity.data,
                source=source, ref=ref, share_click=_share_click(), buyer_id=current_user_id(),
            )
            added, product = True, line.product
        except DomainError as error:
            form.quantity.errors = [*form.quantity.errors, messages.describe(error)]
    if form.quantity.errors and form.quantity.data is None:
        form.quantity.errors = [messages.text("quantity_invalid")]
    if product is None and form.product_id.data:
        product = db_session().get(Product, form.product_id.data)
    if product is None:
        return render_error(422, " ".join(form.quantity.errors or form.product_id.errors) or messages.text("product_unavailable"))
    if added and not _wants(ADD_TO_CART):
        flash(f"已加入购物车 · Added to cart：{product.title}", "success")
        return redirect(url_for("commerce.show_cart"), code=303)
    if added:
        html = render_template("commerce/partials/add_to_cart.html", form=form, product=product, added=True)
        return make_response(html, trigger="cart-changed")
    return _add_form_response(form, product, status=422)


def _add_form_response(form: AddToCartForm, product: Product, status: int = 200):
    if _wants(ADD_TO_CART):
        return render_template("commerce/partials/add_to_cart.html", form=form, product=product, added=False), status
    return render_template("commerce/add_to_cart_page.html", form=form, product=product, added=False), status


# The cart

@bp.get("/cart")
def show_cart():
    return _cart_response()


@bp.get("/cart/count")
def show_cart_count():
    count = carts.count_items(db_session(), **_readers_cart())
    return render_template("commerce/partials/cart_count.html", cart_count=count)


@bp.post("/cart/items/<int:line_id>")
def update_item(line_id: int):
    form = QuantityForm()
    errors: dict[int, str] = {}
    if form.validate_on_submit():
        try:
            carts.set_quantity(db_session(), cart_id=_find_cart_id() or 0, line_id=line_id, quantity=form.quantity.data)
        except NotFound:
            raise
        except DomainError as error:
            errors[line_id] = messages.describe(error)
    else:
        errors[line_id] = messages.text("quantity_invalid") if form.quantity.data is None else " ".join(form.quantity.errors)
    return _after_cart_change(errors)


@bp.post("/cart/items/<int:line_id>/remove")
def remove_item(line_id: int):
    if FlaskForm().validate_on_submit():
        carts.remove_line(db_session(), cart_id=_find_cart_id() or 0, line_id=line_id)
    return _after_cart_change({})


def _after_cart_change(errors: dict[int, str]):
    if errors:
        return _cart_response(errors=errors, status=422)
    if not _wants(CART_LINES):
        return redirect(url_for("commerce.show_cart"), code=303)
    return make_response(_cart_response(), trigger="cart-changed")


def _cart_response(errors: dict[int, str] | None = None, status: int = 200):
    view = carts.get_cart_view(db_session(), **_readers_cart())
    context = dict(view=view, errors=errors or {}, quantity_form=QuantityForm(formdata=None))
    if _wants(CART_LINES):
        return render_template("commerce/partials/cart_lines.html", **context), status
    return render_template("commerce/cart.html", **context), status


# Checkout

@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def place_order():
    session = db_session()
    if request.method == "GET":
        view = carts.get_cart_view(session, owner_id=current_user.id, with_images=False)
        if view.is_empty:
            flash(messages.text("cart_empty"), "info")
            return redirect(url_for("commerce.show_cart"), code=303)
        book = addresses.list_addresses(session, user_id=current_user.id)  # the default first
        form = PlaceOrderForm(formdata=None, data={
            "idempotency_key": secrets.token_urlsafe(24), "address_id": book[0].id if book else None,
        })
        return _review(form, view, book)
    form = PlaceOrderForm()
    if form.validate_on_submit():
        try:
            checkout = checkouts.place_order(
                session, buyer_id=current_user.id,
                address_id=form.address_id.data, idempotency_key=form.idempotency_key.data,
                expiry_minutes=int(current_app.config["CHECKOUT_EXPIRY_MINUTES"]),
                payment_provider=current_app.config["PAYMENT_PROVIDER"],
            )
        except NotFound:
            form.address_id.errors = [messages.text("address_required")]
        except DomainError as error:
            attach_error(form, error)
        else:
            return _go_pay(checkout)
    if form.address_id.errors and form.address_id.data is None:
        form.address_id.errors = [messages.text("address_required")]
    view = carts.get_cart_view(session, owner_id=current_user.id, with_images=False)
    return _review(form, view, addresses.list_addresses(session, user_id=current_user.id), status=422)


def _review(form: PlaceOrderForm, view: carts.CartView, book: list, status: int = 200):
    return render_template("commerce/checkout.html", form=form, view=view, addresses=book), status


def _go_pay(checkout):
    """Send the buyer to the checkout's payment provider (or back to the checkout, with why not)."""
    status_url = url_for("commerce.show_checkout", checkout_id=checkout.id, _external=True)
    try:
        provider = payments.get_provider(checkout.payment_provider, config=current_app.config)
        target = provider.start_payment(db_session(), checkout=checkout, success_url=status_url, cancel_url=status_url)
    except DomainError as error:
        flash(messages.describe(error), "error")
        target = url_for("commerce.show_checkout", checkout_id=checkout.id)
    return redirect(target, code=303)


@bp.get("/checkout/<int:checkout_id>")
@login_required
def show_checkout(checkout_id: int):
    page = checkouts.get_checkout(db_session(), checkout_id=checkout_id, buyer_id=current_user.id)
    return render_template("commerce/checkout_detail.html", page=page, pay_form=FlaskForm(formdata=None))


@bp.post("/checkout/<int:checkout_id>/pay")
@login_required
def pay_checkout(checkout_id: int):
    page = checkouts.get_checkout(db_session(), checkout_id=checkout_id, buyer_id=current_user.id)
    if not FlaskForm().validate_on_submit() or not page.is_payable:
        flash(messages.text("checkout_expired") if not page.is_payable else messages.text("csrf"), "error")
        return redirect(url_for("commerce.show_checkout", checkout_id=checkout_id), code=303)
    return _go_pay(page.checkout)


# The sandbox provider's page

def _sandbox() -> payments.SandboxProvider:
    try:
        return payments.get_provider(payments.SANDBOX, config=current_app.config)
    except payments.SandboxRefused:
        abort(404)


@bp.get("/pay/sandbox/<int:checkout_id>")
@login_required
def show_sandbox_payment(checkout_id: int):
    provider = _sandbox()
    page = checkouts.get_checkout(db_session(), checkout_id=checkout_id, buyer_id=current_user.id)
    if not page.is_payable:
        return redirect(url_for("commerce.show_checkout", checkout_id=checkout_id), code=303)
    return render_template("commerce/sandbox_pay.html", page=page, provider=provider, form=FlaskForm(formdata=None))


@bp.post("/pay/sandbox/<int:checkout_id>")
@login_required
def confirm_sandbox_payment(checkout_id: int):
    provider = _sandbox()
    if not CheckedForm().validate_on_submit():
        abort(400)
    try:
        if request.form.get("action") == "cancel":
            checkouts.cancel_checkout(db_session(), checkout_id=checkout_id, buyer_id=current_user.id)
            flash("已取消支付，库存已释放 · Payment cancelled; the items went back on sale", "info")
        else:
            provider.confirm(db_session(), checkout_id=checkout_id, buyer_id=current_user.id, announce=announce_order_change)
            flash("支付成功（沙箱） · Paid (sandbox)", "success")
    except NotFound:
        raise
    except DomainError as error:
        flash(messages.describe(error), "error")
    return redirect(url_for("commerce.show_checkout", checkout_id=checkout_id), code=303)


# The address book

@bp.get("/addresses")
@login_required
def list_addresses():
    book = addresses.list_addresses(db_session(), user_id=current_user.id)
    return render_template("commerce/addresses.html", addresses=book, form=FlaskForm(formdata=None))


@bp.route("/addresses/new", methods=["GET", "POST"])
@login_required
def new_address():
    return _address_form(address=None)


@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit_address(address_id: int):
    return _address_form(address=addresses.get_address(db_session(), user_id=current_user.id, address_id=address_id))


def _address_form(address):
    form = AddressForm(obj=address, next=request.args.get("next", ""))
    if form.is_submitted():
        shape_ok = form.validate_on_submit()
        values = {name: getattr(form, name).data for name in addresses.FIELDS}
        try:
            if not shape_ok:
                addresses.check_address(**values)  # name every problem at once, not only the shape checks
            else:
                addresses.save_address(db_session(), user_id=current_user.id, address_id=address.id if address else None,
                                       make_default=form.make_default.data, **values)
                flash("地址已保存 · Address saved", "success")
                return redirect(safe_next(form.next.data, url_for("commerce.list_addresses")), code=303)
        except addresses.AddressInvalid as error:
            for name, code in error.problems.items():
                field = getattr(form, name)
                if not field.errors:
                    field.errors = [messages.text(code)]
        except DomainError as error:
            attach_error(form, error)
    status = 422 if form.is_submitted() else 200
    back_url = safe_next(form.next.data, url_for("commerce.list_addresses"))
    return render_template("commerce/address_form.html", form=form, address=address, back_url=back_url,
                           provinces=addresses.PROVINCES), status


@bp.post("/addresses/<int:address_id>/default")
@login_required
def make_default_address(address_id: int):
    if FlaskForm().validate_on_submit():
        addresses.set_default_address(db_session(), user_id=current_user.id, address_id=address_id)
    return redirect(safe_next(request.form.get("next"), url_for("commerce.list_addresses")), code=303)


@bp.post("/addresses/<int:address_id>/delete")
@login_required
def delete_address(address_id: int):
    if FlaskForm().validate_on_submit():
        addresses.delete_address(db_session(), user_id=current_user.id, address_id=address_id)
        flash("地址已删除 · Address deleted", "info")
    return redirect(url_for("commerce.list_addresses"), code=303)
