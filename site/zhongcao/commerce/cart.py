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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from zhongcao.attribution.clicks import Attribution
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product, Shop
from zhongcao.catalog.services import cover_image_urls
from zhongcao.clock import utcnow
from zhongcao.commerce import attribution
from zhongcao.commerce.models import Cart, CartLine
from zhongcao.db import adopt, atomic, expire_loaded
from zhongcao.errors import DomainError, InvalidInput, NotFound
from zhongcao.plainsql import PlainQuery, plain_insert

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


def check_stock(product: Product | ViewedProduct | None, quantity: int) -> Product | ViewedProduct:
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
_CARTS = Cart.__table__
_CART_OF_OWNER = select(Cart).where(Cart.owner_id == bindparam("owner_id"))  # one at most: uq_cart_owner_id
_CART_OF_TOKEN = select(Cart).where(Cart.token == bindparam("token"), Cart.owner_id.is_(None)).limit(1)
_LINE_OF_PRODUCT = (
    select(CartLine)
    .where(CartLine.cart_id == bindparam("cart_id"), CartLine.product_id == bindparam("product_id"))
    .execution_options(populate_existing=True)
)
_LINES_OF_CART = select(CartLine).where(CartLine.cart_id == bindparam("cart_id")).execution_options(populate_existing=True)
# Every change to a cart starts by stamping the cart's time: on PostgreSQL that locks the cart's row
# until the change commits, so two changes to one cart (two tabs, a double click) read its lines one
# after the other and neither loses the other's quantity. (SQLite's writers queue anyway.)
_TOUCH = _CARTS.update().values(updated_at=bindparam("now")).returning(_CARTS.c.id, _CARTS.c.owner_id)
_TOUCH_CART = PlainQuery(_TOUCH.where(_CARTS.c.id == bindparam("cart_id")))
_TOUCH_OWN_CART = PlainQuery(_TOUCH.where(_CARTS.c.owner_id == bindparam("cart_owner_id")))
_INSERT_CART = _CARTS.insert().returning(_CARTS.c.id)
# An anonymous cart is claimed before it is merged: of two sign-ins carrying it at once, one merges it.
_ADOPT_ANONYMOUS = (
    _CARTS.update()
    .where(_CARTS.c.id == bindparam("cart_id"), _CARTS.c.token == bindparam("anonymous_token"), _CARTS.c.owner_id.is_(None))
    .values(owner_id=bindparam("new_owner_id"), token=None, updated_at=bindparam("now"))
)
_CLAIM_ANONYMOUS = (
    _CARTS.update()
    .where(_CARTS.c.id == bindparam("cart_id"), _CARTS.c.token == bindparam("anonymous_token"), _CARTS.c.owner_id.is_(None))
    .values(token=None)
)
_LINE_VALUES = ("quantity", "beneficiary_id", "attribution_source", "attribution_ref", "added_at")
# The product and the cart's line of it, in one plain read inside the write transaction: the stock
# check sees what other buyers committed, and no ORM objects are built for the most frequent write.
_PRODUCT_AND_LINE = PlainQuery(
    select(
        Product.__table__.c.id, Product.__table__.c.title, Product.__table__.c.slug, Product.__table__.c.price_fen,
        Product.__table__.c.stock, Product.__table__.c.status, Product.__table__.c.shop_id,
        CartLine.__table__.c.id.label("line_id"),
        *(CartLine.__table__.c[name].label(f"line_{name}") for name in _LINE_VALUES),
    )
    .select_from(Product.__table__)
    .outerjoin(CartLine.__table__, (CartLine.__table__.c.product_id == Product.__table__.c.id)
               & (CartLine.__table__.c.cart_id == bindparam("cart_id")))
    .where(Product.__table__.c.id == bindparam("product_id"))
)
_INSERT_LINE = plain_insert(CartLine.__table__, ("cart_id", "product_id", *_LINE_VALUES), returning=("id",))
_UPDATE_LINE = PlainQuery(
    CartLine.__table__.update().where(CartLine.__table__.c.id == bindparam("line_id"))
    .values({name: bindparam(f"new_{name}") for name in _LINE_VALUES})
)
# The cart page and the checkout page read the lines with their products and shops as plain rows:
# loading three ORM objects per line (and the products' descriptions) cost more than the query.
_CART_LINES, _PRODUCTS, _SHOPS = CartLine.__table__, Product.__table__, Shop.__table__
_VIEW = (
    select(
        _CART_LINES.c.cart_id, _CART_LINES.c.id, _CART_LINES.c.quantity, _CART_LINES.c.product_id,
        _PRODUCTS.c.title, _PRODUCTS.c.slug, _PRODUCTS.c.price_fen, _PRODUCTS.c.stock, _PRODUCTS.c.status,
        _PRODUCTS.c.shop_id, _SHOPS.c.name.label("shop_name"),
    )
    .join(_PRODUCTS, _PRODUCTS.c.id == _CART_LINES.c.product_id)
    .join(_SHOPS, _SHOPS.c.id == _PRODUCTS.c.shop_id)
    .order_by(_SHOPS.c.name, _SHOPS.c.id, _CART_LINES.c.added_at, _CART_LINES.c.id)
)
_VIEW_OF_CART = PlainQuery(_VIEW.where(_CART_LINES.c.cart_id == bindparam("cart_id")))
_VIEW_OF_OWNER = PlainQuery(
    _VIEW.join(_CARTS, _CARTS.c.id == _CART_LINES.c.cart_id).where(_CARTS.c.owner_id == bindparam("owner_id"))
)
# The header's count, asked after every page a reader opens: on the driver's cursor (plainsql).
_COUNT_OF_CART = PlainQuery(
    select(func.coalesce(func.sum(_CART_LINES.c.quantity), 0)).where(_CART_LINES.c.cart_id == bindparam("cart_id"))
)
_COUNT_OF_OWNER = PlainQuery(
    select(func.coalesce(func.sum(_CART_LINES.c.quantity), 0))
    .join(_CARTS, _CARTS.c.id == _CART_LINES.c.cart_id).where(_CARTS.c.owner_id == bindparam("owner_id"))
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
) -> AddedLine:
    """Add `quantity` of a product (or that many more) to cart `cart_id`, or to the cart of account
    `owner_id` (created when missing), freezing the attribution on the line.

    `source`/`ref` say where the button was (article block, storefront; None for the product page) and
    `share_click` is the reader's last share click from the cookie; see attribution.decide_credit.
    The line returned (AddedLine) carries the product as read for the stock check (`line.product`).
    Raises InvalidInput (quantity), NotFound (cart), ProductUnavailable, OutOfStock, NotEnoughStock.
    """
    now = now or utcnow()
    _check_quantity(quantity)
    if (cart_id is None) == (owner_id is None):
        raise InvalidInput("add_to_cart needs one of a cart id and an owner")
    with atomic(session):
        if cart_id is not None:
            cart_id, cart_owner_id = _touch(session, cart_id, now)
        else:
            cart_id, cart_owner_id = _touch_own_cart(session, owner_id, now)
        rows = _PRODUCT_AND_LINE.rows(session, product_id=product_id, cart_id=cart_id)
        product = _viewed_product(rows[0]) if rows else None
        line = {name: getattr(rows[0], f"line_{name}") for name in _LINE_VALUES} if rows and rows[0].line_id else None
        total = quantity + (line["quantity"] if line else 0)
        check_stock(product, total)
        if total > MAX_LINE_QUANTITY:
            raise InvalidInput(field="quantity", code="quantity_too_large")
        credit = attribution.decide_credit(
            session, product=product, source=source, ref=ref, share_click=share_click, buyer_id=buyer_id or cart_owner_id
        )
        values = {"quantity": total}
        if credit is not None:  # last click wins; an add that carries no attribution keeps the earlier one
            values.update(beneficiary_id=credit.beneficiary_id, attribution_source=credit.source,
                          attribution_ref=credit.ref, added_at=now)
        return _write_line(session, rows[0].line_id, line, cart_id=cart_id, product=product, now=now, **values)


def set_quantity(session: Session, *, cart_id: int, line_id: int, quantity: int, now: datetime | None = None) -> CartLine | None:
    """Set a line's quantity; 0 removes the line (and returns None).

    Raises NotFound (not this cart's line), InvalidInput, ProductUnavailable, OutOfStock, NotEnoughStock.
    """
    if quantity == 0:
        remove_line(session, cart_id=cart_id, line_id=line_id, now=now)
        return None
    _check_quantity(quantity)
    with atomic(session):
        _touch(session, cart_id, now or utcnow())
        line = _get_line(session, cart_id, line_id)
        check_stock(session.get(Product, line.product_id), quantity)
        line.quantity = quantity
        session.add(line)
    return line


def remove_line(session: Session, *, cart_id: int, line_id: int, now: datetime | None = None) -> None:
    """Remove a line from the cart. Raises NotFound when it is not this cart's line."""
    with atomic(session):
        _touch(session, cart_id, now or utcnow())
        session.delete(_get_line(session, cart_id, line_id))


def merge_carts(session: Session, *, token: str | None, owner_id: int, now: datetime | None = None) -> Cart | None:
    """Move an anonymous cart into the account's cart at sign-in; returns the account's cart (None: nothing to merge).

    Quantities of the same product are summed and capped at the stock (never below 1, so a sold-out
    line stays visible, marked, instead of vanishing). The attribution of the newer line wins when it
    has one. Lines crediting the buyer themselves are stripped now that the buyer is known.
    Safe against the buyer's other requests at the same moment: a first add in another tab, or
    another tab signing in with the same anonymous cart (which then finds it merged already).
    """
    now = now or utcnow()
    if not token:
        return None
    with atomic(session):
        anonymous = find_cart(session, token=token)
        if anonymous is None:
            return None
        target = find_cart(session, owner_id=owner_id)
        if target is None:
            # Nothing in the account yet: the anonymous cart becomes the account's cart.
            try:
                with session.begin_nested():
                    adopted = session.connection().execute(_ADOPT_ANONYMOUS, {
                        "cart_id": anonymous.id, "anonymous_token": token, "new_owner_id": owner_id, "now": now,
                    }).rowcount
            except IntegrityError:
                adopted = 0  # the account got a cart meanwhile (uq_cart_owner_id): merge into it below
            else:
                if adopted != 1:
                    return find_cart(session, owner_id=owner_id)  # another tab signing in took it first
                for name, value in (("owner_id", owner_id), ("token", None), ("updated_at", now)):
                    set_committed_value(anonymous, name, value)
                for line in session.exec(_LINES_OF_CART, params={"cart_id": anonymous.id}).all():
                    _strip_if_ineligible(session, line, owner_id)
                return anonymous
            target = find_cart(session, owner_id=owner_id)
            if target is None:
                raise NotFound()
        if session.connection().execute(_CLAIM_ANONYMOUS, {"cart_id": anonymous.id, "anonymous_token": token}).rowcount != 1:
            return target  # another tab signing in merged it first
        _touch(session, target.id, now)
        for line in session.exec(_LINES_OF_CART, params={"cart_id": anonymous.id}).all():
            _merge_line(session, line, into=target, owner_id=owner_id)
        session.flush()
        session.delete(anonymous)
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


# What the cart and checkout pages show of a line, its product and its shop: read-only copies of the
# columns they need, made from one plain query (_VIEW).

@dataclass(frozen=True)
class ViewedLine:
    id: int
    quantity: int


@dataclass(frozen=True)
class ViewedProduct:
    id: int
    title: str
    slug: str
    price_fen: int
    stock: int
    status: str
    shop_id: int | None = None


@dataclass(frozen=True)
class AddedLine:
    """A cart line as add_to_cart left it, with the product as read for its stock check."""

    id: int
    cart_id: int
    product_id: int
    quantity: int
    beneficiary_id: int | None
    attribution_source: str | None
    attribution_ref: int | None
    added_at: datetime
    product: ViewedProduct


@dataclass(frozen=True)
class ViewedShop:
    id: int
    name: str


@dataclass(frozen=True)
class LineView:
    line: ViewedLine
    product: ViewedProduct
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
    shop: ViewedShop
    lines: list[LineView] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(line.line_total_fen for line in self.lines)


@dataclass
class CartView:
    """A cart as the cart and checkout pages show it: lines by shop at current prices, and their problems."""

    cart_id: int | None
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
    and stock problems, in one query, plus one for the products' images unless `with_images` is False
    (the checkout page shows none)."""
    if cart_id is not None:
        rows = _VIEW_OF_CART.rows(session, cart_id=cart_id)
    elif owner_id is not None:
        rows = _VIEW_OF_OWNER.rows(session, owner_id=owner_id)
    else:
        return CartView(cart_id=None)
    images = cover_image_urls(session, [row.product_id for row in rows]) if with_images and rows else {}
    groups: dict[int, ShopGroup] = {}
    for row in rows:
        group = groups.get(row.shop_id)
        if group is None:
            group = groups[row.shop_id] = ShopGroup(ViewedShop(row.shop_id, row.shop_name))
        product = ViewedProduct(row.product_id, row.title, row.slug, row.price_fen, row.stock, row.status)
        group.lines.append(LineView(ViewedLine(row.id, row.quantity), product, images.get(product.id),
                                    _problem(product, row.quantity)))
    return CartView(cart_id=rows[0].cart_id if rows else cart_id, groups=list(groups.values()))


def count_items(session: Session, *, cart_id: int | None = None, owner_id: int | None = None) -> int:
    """How many items (sum of quantities) cart `cart_id` (or the cart of account `owner_id`) holds: the header's count."""
    if cart_id is not None:
        return int(_COUNT_OF_CART.scalar(session, cart_id=cart_id))
    if owner_id is not None:
        return int(_COUNT_OF_OWNER.scalar(session, owner_id=owner_id))
    return 0


def _problem(product: ViewedProduct, quantity: int) -> str | None:
    try:
        check_stock(product, quantity)
    except DomainError as error:
        return error.code
    return None


def _find_or_create(session: Session, *, owner_id: int | None = None, token: str | None = None) -> Cart:
    cart = find_cart(session, owner_id=owner_id, token=token)
    if cart is not None:
        return cart
    values = dict(owner_id=owner_id, token=None if owner_id is not None else token, created_at=utcnow())
    values["updated_at"] = values["created_at"]
    cart_id = _insert_cart(session, **values)
    if cart_id is None:
        cart = find_cart(session, owner_id=owner_id, token=token)
        if cart is None:
            raise NotFound()
        return cart
    return adopt(session, Cart(id=cart_id, **values))


def _insert_cart(session: Session, *, owner_id: int | None, token: str | None, created_at: datetime,
                 updated_at: datetime) -> int | None:
    """A new cart's id, or None when another request made this buyer's cart first.

    On PostgreSQL two first adds of one buyer can both find no cart; the unique index on the owner
    (or the token) makes the later INSERT wait for the earlier transaction and then fail. The failure
    is contained in a savepoint so the caller can read the winner's cart and carry on.
    """
    try:
        with session.begin_nested():
            return session.connection().execute(
                _INSERT_CART, {"owner_id": owner_id, "token": token, "created_at": created_at, "updated_at": updated_at}
            ).scalar_one()
    except IntegrityError:
        return None


def _touch_own_cart(session: Session, owner_id: int, now: datetime) -> tuple[int, int]:
    """The id of the account's cart (created when missing), stamped and, on PostgreSQL, locked."""
    row = _TOUCH_OWN_CART.write_returning(session, cart_owner_id=owner_id, now=now)
    if row is None:
        cart_id = _insert_cart(session, owner_id=owner_id, token=None, created_at=now, updated_at=now)
        if cart_id is not None:
            return cart_id, owner_id
        row = _TOUCH_OWN_CART.write_returning(session, cart_owner_id=owner_id, now=now)
        if row is None:
            raise NotFound()
    _stamp_loaded(session, row.id, now)
    return row.id, row.owner_id


def _touch(session: Session, cart_id: int, now: datetime) -> tuple[int, int | None]:
    """Stamp the cart's time, locking its row on PostgreSQL until the change commits. Raises NotFound."""
    row = _TOUCH_CART.write_returning(session, cart_id=cart_id, now=now)
    if row is None:
        raise NotFound()
    _stamp_loaded(session, cart_id, now)
    return row.id, row.owner_id


def _stamp_loaded(session: Session, cart_id: int, now: datetime) -> None:
    loaded = session.identity_map.get(session.identity_key(Cart, cart_id))
    if loaded is not None:
        set_committed_value(loaded, "updated_at", now)


def _find_line(session: Session, cart_id: int, product_id: int) -> CartLine | None:
    return session.exec(_LINE_OF_PRODUCT, params={"cart_id": cart_id, "product_id": product_id}).first()


def _get_line(session: Session, cart_id: int, line_id: int) -> CartLine:
    line = session.get(CartLine, line_id)
    if line is None or line.cart_id != cart_id:
        raise NotFound()
    return line


def _write_line(session: Session, line_id: int | None, existing: dict | None, *, cart_id: int, product: ViewedProduct,
                now: datetime, **values: object) -> AddedLine:
    """Insert the line, or update line `line_id` (whose `existing` values were read), with plain
    statements: an add is the most frequent write on the site, and the session's unit of work, or
    even building the ORM objects, costs several times the statements themselves."""
    if existing is not None:
        row = {**existing, **values}
        _UPDATE_LINE.write(session, line_id=line_id, **{f"new_{k}": v for k, v in row.items()})
        expire_loaded(session, CartLine, line_id)  # a copy the session holds shows the new values
    else:
        row = {"beneficiary_id": None, "attribution_source": None, "attribution_ref": None, "added_at": now, **values}
        line_id = _INSERT_LINE.write_returning(session, cart_id=cart_id, product_id=product.id, **row).id
    return AddedLine(id=line_id, cart_id=cart_id, product_id=product.id, product=product, **row)


def _viewed_product(row: tuple) -> ViewedProduct:
    return ViewedProduct(row.id, row.title, row.slug, row.price_fen, row.stock, row.status, row.shop_id)
