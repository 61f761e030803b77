"""Carts: one per signed-in buyer, or one per anonymous browser (a random token in a signed cookie).

Quantities are checked against stock when a line is added or changed, with a message that says how
many are left; stock is only *taken* at checkout (checkout.place_order), so a cart reserves nothing.
Attribution is decided once per add and frozen on the line (see attribution.py).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from zhongcao.attribution.clicks import Attribution
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product, Shop
from zhongcao.catalog.services import cover_image_urls
from zhongcao.clock import utcnow
from zhongcao.commerce import attribution
from zhongcao.commerce.models import Cart, CartLine
from zhongcao.db import adopt, atomic
from zhongcao.errors import DomainError, InvalidInput, NotFound

MAX_LINE_QUANTITY = 99


class ProductUnavailable(DomainError):
    """The product was hidden or deleted."""

    code = "product_unavailable"


class OutOfStock(DomainError):
    """Nothing left of the product; `context["title"]` names it."""

    code = "out_of_stock"


class NotEnoughStock(DomainError):
    """Fewer left than asked for; `available` says how many (also in `detail`, for the message)."""

    code = "only_n_left"

    def __init__(self, *, title: str, available: int) -> None:
        super().__init__(f"{title}：仅剩 {available} 件 · only {available} left", title=title, available=available)
        self.available = available


def check_stock(product: Product | None, quantity: int) -> Product:
    """The product, if `quantity` of it can be bought now. Raises ProductUnavailable, OutOfStock, NotEnoughStock."""
    if product is None or product.status != PRODUCT_ACTIVE:
        raise ProductUnavailable()
    if product.stock <= 0:
        raise OutOfStock(product.title, title=product.title)
    if quantity > product.stock:
        raise NotEnoughStock(title=product.title, available=product.stock)
    return product


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(field="quantity", code="quantity_invalid")
    if quantity > MAX_LINE_QUANTITY:
        raise InvalidInput(field="quantity", code="quantity_too_large")


def new_cart_token() -> str:
    return secrets.token_urlsafe(32)


# The statements every add, review and checkout runs, built once: building an ORM select costs about
# as much as running it on SQLite (SQLAlchemy caches the compiled SQL, not the construction).
_CART_OF_OWNER = select(Cart).where(Cart.owner_id == bindparam("owner_id")).order_by(Cart.id).limit(1)
_CART_OF_TOKEN = select(Cart).where(Cart.token == bindparam("token"), Cart.owner_id.is_(None)).limit(1)
_LINE_OF_PRODUCT = select(CartLine).where(
    CartLine.cart_id == bindparam("cart_id"), CartLine.product_id == bindparam("product_id")
)
# Read inside the write transaction whatever copy the session holds: the stock check must see what
# other buyers committed.
_FRESH_PRODUCT = select(Product).where(Product.id == bindparam("product_id")).execution_options(populate_existing=True)
_LINE_VALUES = ("quantity", "beneficiary_id", "attribution_source", "attribution_ref", "added_at")
_INSERT_LINE = CartLine.__table__.insert().returning(CartLine.__table__.c.id)
_UPDATE_LINE = (
    CartLine.__table__.update().where(CartLine.__table__.c.id == bindparam("line_id"))
    .values({name: bindparam(f"new_{name}") for name in _LINE_VALUES})
)
_TOUCH_CART = Cart.__table__.update().where(Cart.__table__.c.id == bindparam("cart_id")).values(updated_at=bindparam("now"))
_VIEW_ROWS = (
    select(CartLine, Product, Shop)
    .join(Product, Product.id == CartLine.product_id)
    .join(Shop, Shop.id == Product.shop_id)
    .where(CartLine.cart_id == bindparam("cart_id"))
    .order_by(Shop.name, Shop.id, CartLine.added_at, CartLine.id)
)


def find_cart(session: Session, *, owner_id: int | None = None, token: str | None = None) -> Cart | None:
    """The buyer's cart (by account, or by anonymous token when signed out), or None."""
    if owner_id is not None:
        return session.exec(_CART_OF_OWNER, params={"owner_id": owner_id}).first()
    if token:
        return session.exec(_CART_OF_TOKEN, params={"token": token}).first()
    return None


def open_cart(session: Session, *, owner_id: int | None = None, token: str | None = None) -> Cart:
    """The buyer's cart, created when missing. Raises InvalidInput without an owner or a token."""
    if owner_id is None and not token:
        raise InvalidInput("a cart needs an owner or a token")
    found = find_cart(session, owner_id=owner_id, token=token)
    if found is not None:
        return found  # the usual case, without taking the write lock
    with atomic(session):
        return _find_or_create(session, owner_id=owner_id, token=token)


def add_to_cart(
    session: Session,
    *,
    cart_id: int | None = None,
    owner_id: int | None = None,
    product_id: int,
    quantity: int = 1,
    source: str | None = None,
    ref: int | None = None,
    share_click: Attribution | None = None,
    buyer_id: int | None = None,
    now: datetime | None = None,
) -> CartLine:
    """Add `quantity` of a product (or that many more) to cart `cart_id`, or to the cart of account
    `owner_id` (created when missing), freezing the attribution on the line.

    `source`/`ref` say where the button was (article block, storefront; None for the product page) and
    `share_click` is the reader's last share click from the cookie; see attribution.decide_credit.
    Raises InvalidInput (quantity), NotFound (cart), ProductUnavailable, OutOfStock, NotEnoughStock.
    """
    now = now or utcnow()
    _check_quantity(quantity)
    if (cart_id is None) == (owner_id is None):
        raise InvalidInput("add_to_cart needs one of a cart id and an owner")
    with atomic(session):
        cart = _get_cart(session, cart_id) if cart_id is not None else _find_or_create(session, owner_id=owner_id)
        product = session.exec(_FRESH_PRODUCT, params={"product_id": product_id}).first()
        line = _find_line(session, cart.id, product_id)
        total = quantity + (line.quantity if line else 0)
        check_stock(product, total)
        if total > MAX_LINE_QUANTITY:
            raise InvalidInput(field="quantity", code="quantity_too_large")
        credit = attribution.decide_credit(
            session, product=product, source=source, ref=ref, share_click=share_click, buyer_id=buyer_id or cart.owner_id
        )
        values = {"quantity": total}
        if credit is not None:  # last click wins; an add that carries no attribution keeps the earlier one
            values.update(beneficiary_id=credit.beneficiary_id, attribution_source=credit.source,
                          attribution_ref=credit.ref, added_at=now)
        line = _write_line(session, line, cart_id=cart.id, product_id=product.id, now=now, **values)
        _touch(session, cart.id, now)
    return line


def set_quantity(session: Session, *, cart_id: int, line_id: int, quantity: int, now: datetime | None = None) -> CartLine | None:
    """Set a line's quantity; 0 removes the line (and returns None).

    Raises NotFound (not this cart's line), InvalidInput, ProductUnavailable, OutOfStock, NotEnoughStock.
    """
    if quantity == 0:
        remove_line(session, cart_id=cart_id, line_id=line_id, now=now)
        return None
    _check_quantity(quantity)
    with atomic(session):
        line = _get_line(session, cart_id, line_id)
        check_stock(session.get(Product, line.product_id), quantity)
        line.quantity = quantity
        session.add(line)
        _touch(session, cart_id, now)
    return line


def remove_line(session: Session, *, cart_id: int, line_id: int, now: datetime | None = None) -> None:
    """Remove a line from the cart. Raises NotFound when it is not this cart's line."""
    with atomic(session):
        session.delete(_get_line(session, cart_id, line_id))
        _touch(session, cart_id, now)


def merge_carts(session: Session, *, token: str | None, owner_id: int, now: datetime | None = None) -> Cart | None:
    """Move an anonymous cart into the account's cart at sign-in; returns the account's cart (None: nothing to merge).

    Quantities of the same product are summed and capped at the stock (never below 1, so a sold-out
    line stays visible, marked, instead of vanishing). The attribution of the newer line wins when it
    has one. Lines crediting the buyer themselves are stripped now that the buyer is known.
    """
    now = now or utcnow()
    with atomic(session):
        anonymous = find_cart(session, token=token) if token else None
        if anonymous is None:
            return None
        lines = session.exec(select(CartLine).where(CartLine.cart_id == anonymous.id)).all()
        target = find_cart(session, owner_id=owner_id)
        if target is None:
            # Nothing in the account yet: the anonymous cart becomes the account's cart.
            anonymous.owner_id, anonymous.token, anonymous.updated_at = owner_id, None, now
            session.add(anonymous)
            for line in lines:
                _strip_if_ineligible(session, line, owner_id)
            return anonymous
        for line in lines:
            _merge_line(session, line, into=target, owner_id=owner_id)
        session.flush()
        session.delete(anonymous)
        target.updated_at = now
        session.add(target)
    return target


def _merge_line(session: Session, line: CartLine, *, into: Cart, owner_id: int) -> None:
    existing = _find_line(session, into.id, line.product_id)
    if existing is None:
        line.cart_id = into.id
        line.quantity = min(line.quantity, MAX_LINE_QUANTITY)
        _strip_if_ineligible(session, line, owner_id)
        return
    product = session.get(Product, line.product_id)
    stock = product.stock if product is not None else 0
    existing.quantity = max(1, min(existing.quantity + line.quantity, stock, MAX_LINE_QUANTITY))
    newer = line if line.added_at >= existing.added_at else existing
    if newer is line and line.beneficiary_id is not None:
        existing.beneficiary_id = line.beneficiary_id
        existing.attribution_source = line.attribution_source
        existing.attribution_ref = line.attribution_ref
    existing.added_at = max(existing.added_at, line.added_at)
    session.delete(line)
    _strip_if_ineligible(session, existing, owner_id)


def _strip_if_ineligible(session: Session, line: CartLine, buyer_id: int) -> None:
    if line.beneficiary_id is None:
        return
    product = session.get(Product, line.product_id)
    shop = session.get(Shop, product.shop_id) if product else None
    if shop is None or not attribution.is_eligible(
        session, beneficiary_id=line.beneficiary_id, buyer_id=buyer_id, shop_owner_id=shop.owner_id
    ):
        line.beneficiary_id = line.attribution_source = line.attribution_ref = None
    session.add(line)


@dataclass(frozen=True)
class LineView:
    line: CartLine
    product: Product
    image_url: str | None
    problem: str | None  # None, or an error code: product_unavailable / out_of_stock / only_n_left

    @property
    def unit_price_fen(self) -> int:
        return self.product.price_fen

    @property
    def line_total_fen(self) -> int:
        return self.product.price_fen * self.line.quantity


@dataclass
class ShopGroup:
    shop: Shop
    lines: list[LineView] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(line.line_total_fen for line in self.lines)


@dataclass
class CartView:
    """A cart as the cart and checkout pages show it: lines by shop at current prices, and their problems."""

    cart: Cart | None
    groups: list[ShopGroup] = field(default_factory=list)

    @property
    def lines(self) -> list[LineView]:
        return [line for group in self.groups for line in group.lines]

    @property
    def total_fen(self) -> int:
        return sum(group.total_fen for group in self.groups)

    @property
    def item_count(self) -> int:
        return sum(line.line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def has_problems(self) -> bool:
        return any(line.problem for line in self.lines)


def get_cart_view(session: Session, *, cart_id: int | None = None, owner_id: int | None = None,
                  with_images: bool = True) -> CartView:
    """Cart `cart_id` (or the cart of account `owner_id`): its lines grouped by shop, with current prices
    and stock problems, in two queries, plus one for the products' images unless `with_images` is False
    (the checkout page shows none)."""
    if cart_id is not None:
        cart = session.get(Cart, cart_id)
    elif owner_id is not None:
        cart = find_cart(session, owner_id=owner_id)
    else:
        cart = None
    if cart is None:
        return CartView(cart=None)
    rows = session.exec(_VIEW_ROWS, params={"cart_id": cart.id}).all()
    images = cover_image_urls(session, [product.id for _line, product, _shop in rows]) if with_images else {}
    groups: dict[int, ShopGroup] = {}
    for line, product, shop in rows:
        group = groups.setdefault(shop.id, ShopGroup(shop))
        group.lines.append(LineView(line, product, images.get(product.id), _problem(product, line.quantity)))
    return CartView(cart=cart, groups=list(groups.values()))


def count_items(session: Session, *, cart_id: int | None) -> int:
    """How many items (sum of quantities) the cart holds: the header's count."""
    if cart_id is None:
        return 0
    return session.exec(select(func.coalesce(func.sum(CartLine.quantity), 0)).where(CartLine.cart_id == cart_id)).one()


def _problem(product: Product, quantity: int) -> str | None:
    try:
        check_stock(product, quantity)
    except DomainError as error:
        return error.code
    return None


def _get_cart(session: Session, cart_id: int) -> Cart:
    cart = session.get(Cart, cart_id)
    if cart is None:
        raise NotFound()
    return cart


def _find_or_create(session: Session, *, owner_id: int | None = None, token: str | None = None) -> Cart:
    cart = find_cart(session, owner_id=owner_id, token=token)
    if cart is None:
        cart = Cart(owner_id=owner_id, token=None if owner_id is not None else token)
        session.add(cart)
        session.flush()
    return cart


def _find_line(session: Session, cart_id: int, product_id: int) -> CartLine | None:
    return session.exec(_LINE_OF_PRODUCT, params={"cart_id": cart_id, "product_id": product_id}).first()


def _get_line(session: Session, cart_id: int, line_id: int) -> CartLine:
    line = session.get(CartLine, line_id)
    if line is None or line.cart_id != cart_id:
        raise NotFound()
    return line


def _touch(session: Session, cart_id: int, now: datetime | None) -> None:
    now = now or utcnow()
    session.connection().execute(_TOUCH_CART, {"cart_id": cart_id, "now": now})
    loaded = session.identity_map.get(session.identity_key(Cart, cart_id))
    if loaded is not None:
        set_committed_value(loaded, "updated_at", now)


def _write_line(session: Session, line: CartLine | None, *, cart_id: int, product_id: int, now: datetime,
                **values: object) -> CartLine:
    """Insert the line, or update the one loaded, with plain statements: an add is the most frequent
    write on the site, and the session's unit of work costs several times the statements themselves.
    Either way the line returned is in the session with the values written."""
    if line is not None:
        row = {name: values.get(name, getattr(line, name)) for name in _LINE_VALUES}
        session.connection().execute(_UPDATE_LINE, {"line_id": line.id, **{f"new_{k}": v for k, v in row.items()}})
        for name, value in row.items():
            set_committed_value(line, name, value)
        return line
    row = {"beneficiary_id": None, "attribution_source": None, "attribution_ref": None, "added_at": now, **values}
    row.update(cart_id=cart_id, product_id=product_id)
    return adopt(session, CartLine(id=session.connection().execute(_INSERT_LINE, row).scalar_one(), **row))
