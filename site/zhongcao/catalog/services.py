"""Catalog operations: merchants' shops and products, categories, and what a product page shows."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pypinyin import lazy_pinyin
from sqlalchemy import func
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article, ArticleProduct
from zhongcao.catalog.description import MAX_LENGTH as DESCRIPTION_MAX_LENGTH
from zhongcao.catalog.description import render_description
from zhongcao.catalog.models import PRODUCT_ACTIVE, PRODUCT_HIDDEN, Category, Product, ProductImage, Shop
from zhongcao.catalog.prices import MAX_PRICE_FEN, MAX_STOCK, percent_text
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhongcao.media.models import Upload

SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,78})[a-z0-9]", re.ASCII)
STATUSES = (PRODUCT_ACTIVE, PRODUCT_HIDDEN)
DEFAULT_COMMISSION_BOUNDS = (100, 5000)
LOW_STOCK = 5  # at or below this many left, the page says "only N left"
CATEGORY_PAGE_SIZE = 24
FEATURED_LIMIT = 12
EDITABLE_FIELDS = frozenset(
    "slug title price_fen list_price_fen stock commission_bp brand description_md category_id status".split()
)


@dataclass
class FeaturedArticle:
    title: str
    slug: str
    author_handle: str
    author_name: str
    kind: str
    published_at: datetime | None

    @property
    def url(self) -> str:
        return f"/@{self.author_handle}/{self.slug}"


@dataclass
class ProductPage:
    product: Product
    shop: Shop
    category: Category | None
    images: list[tuple[ProductImage, Upload]]
    featured_in: list[FeaturedArticle]
    can_edit: bool = False

    @property
    def stock_state(self) -> str:
        """"sold_out", "low" (show how many are left) or "in_stock"."""
        return stock_state(self.product.stock)


@dataclass
class CategoryPage:
    category: Category
    products: list[Product]
    covers: dict[int, Upload]
    page: int
    total: int
    page_size: int = CATEGORY_PAGE_SIZE
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def stock_state(stock: int) -> str:
    if stock <= 0:
        return "sold_out"
    return "low" if stock <= LOW_STOCK else "in_stock"


def check_slug(slug: str | None, *, field_name: str = "slug") -> str:
    """Return the slug if it is 3–80 lowercase letters, digits and inner hyphens; raises InvalidInput."""
    slug = (slug or "").strip()
    if not SLUG_PATTERN.fullmatch(slug) or "--" in slug:
        raise InvalidInput(field=field_name, code="slug_invalid")
    return slug


def slug_from_name(name: str) -> str:
    """A URL slug from a (usually Chinese) name: pinyin for Han characters, ASCII kept, the rest hyphens."""
    text = "-".join(lazy_pinyin(name.strip()))
    text = re.sub(r"[^a-z0-9]+", "-", text.lower(), flags=re.ASCII).strip("-")
    return text[:60].strip("-")


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Forbidden()
    return user


def _check_can_manage(session: Session, shop: Shop, actor_id: int) -> User:
    actor = _get_user(session, actor_id)
    if shop.owner_id != actor.id and not actor.is_admin:
        raise Forbidden()
    return actor


def _clean_text(value: str | None, *, field_name: str, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(field=field_name, code=f"{field_name}_required")
    if len(value) > max_length:
        raise InvalidInput(_limit_detail(max_length), field=field_name, code="too_long", limit=max_length)
    return value


def _limit_detail(max_length: int) -> str:
    return f"最多 {max_length} 字 · at most {max_length} characters"


def find_shop_of(session: Session, owner_id: int) -> Shop | None:
    return session.exec(select(Shop).where(Shop.owner_id == owner_id).order_by(Shop.id)).first()


def find_shop_by_slug(session: Session, slug: str) -> Shop | None:
    return session.exec(select(Shop).where(Shop.slug == slug)).first()


def get_shop(session: Session, shop_id: int) -> Shop:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound()
    return shop


def create_shop(session: Session, *, owner_id: int, name: str, slug: str | None = None, description: str = "") -> Shop:
    """Open the merchant's one shop. Raises Forbidden (not a merchant), InvalidInput, or Conflict (has a shop, slug taken)."""
    name = _clean_text(name, field_name="name", max_length=80, required=True)
    description = _clean_text(description, field_name="description", max_length=2000)
    if slug:
        slug = check_slug(slug)
    with atomic(session):
        owner = _get_user(session, owner_id)
        if not owner.is_merchant:
            raise Forbidden()
        if find_shop_of(session, owner_id):
            raise Conflict(code="shop_exists")
        if slug is None:
            slug = _free_shop_slug(session, slug_from_name(name), owner_id)
        elif find_shop_by_slug(session, slug):
            raise Conflict(field="slug", code="slug_taken")
        now = utcnow()
        shop = Shop(owner_id=owner_id, slug=slug, name=name, description=description, created_at=now, updated_at=now)
        session.add(shop)
    return shop


def _free_shop_slug(session: Session, base: str, owner_id: int) -> str:
    if len(base) < 3:
        base = f"shop-{owner_id}"
    candidate, n = base, 1
    while find_shop_by_slug(session, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def update_shop(session: Session, *, shop_id: int, actor_id: int, name: str, description: str) -> Shop:
    """Rename or re-describe a shop (its owner or an admin). Raises NotFound, Forbidden, InvalidInput."""
    name = _clean_text(name, field_name="name", max_length=80, required=True)
    description = _clean_text(description, field_name="description", max_length=2000)
    with atomic(session):
        shop = get_shop(session, shop_id)
        _check_can_manage(session, shop, actor_id)
        shop.name, shop.description, shop.updated_at = name, description, utcnow()
        session.add(shop)
    return shop


def find_category_by_slug(session: Session, slug: str) -> Category | None:
    return session.exec(select(Category).where(Category.slug == slug)).first()


def upsert_category(session: Session, *, slug: str, name_zh: str, name_en: str, position: int = 0) -> Category:
    """Create the category with this slug, or update its names and position. Raises InvalidInput."""
    slug = check_slug(slug)
    name_zh = _clean_text(name_zh, field_name="name_zh", max_length=40, required=True)
    name_en = _clean_text(name_en, field_name="name_en", max_length=60, required=True)
    with atomic(session):
        category = find_category_by_slug(session, slug) or Category(slug=slug, name_zh=name_zh, name_en=name_en)
        category.name_zh, category.name_en, category.position = name_zh, name_en, int(position)
        session.add(category)
    return category


def list_categories(session: Session) -> list[Category]:
    return list(session.exec(select(Category).order_by(Category.position, Category.slug)).all())


def find_product_by_slug(session: Session, slug: str) -> Product | None:
    return session.exec(select(Product).where(Product.slug == slug)).first()


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound()
    return product


def get_editable_product(session: Session, *, product_id: int, actor_id: int) -> Product:
    """The product, if the actor owns its shop or is an admin. Raises NotFound or Forbidden."""
    product = get_product(session, product_id)
    _check_can_manage(session, get_shop(session, product.shop_id), actor_id)
    return product


def _check_product(session: Session, product: Product, commission_bounds: tuple[int, int]) -> None:
    """Business rules every saved product meets; raises InvalidInput naming the field."""
    product.slug = check_slug(product.slug)
    product.title = _clean_text(product.title, field_name="title", max_length=120, required=True)
    product.brand = _clean_text(product.brand, field_name="brand", max_length=60)
    if len(product.description_md or "") > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            _limit_detail(DESCRIPTION_MAX_LENGTH), field="description_md", code="too_long", limit=DESCRIPTION_MAX_LENGTH
        )
    for name, value in (("price_fen", product.price_fen), ("stock", product.stock), ("commission_bp", product.commission_bp)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(field=name, code="not_a_whole_number")
    if product.price_fen < 0:
        raise InvalidInput(field="price_fen", code="price_negative")
    if product.price_fen > MAX_PRICE_FEN:
        raise InvalidInput(field="price_fen", code="price_too_large")
    if product.list_price_fen is not None:
        if not isinstance(product.list_price_fen, int) or isinstance(product.list_price_fen, bool):
            raise InvalidInput(field="list_price_fen", code="not_a_whole_number")
        if product.list_price_fen < product.price_fen:
            raise InvalidInput(field="list_price_fen", code="list_price_below_price")
        if product.list_price_fen > MAX_PRICE_FEN:
            raise InvalidInput(field="list_price_fen", code="price_too_large")
    if product.stock < 0:
        raise InvalidInput(field="stock", code="count_negative")
    if product.stock > MAX_STOCK:
        raise InvalidInput(field="stock", code="count_too_large")
    low, high = commission_bounds
    if not low <= product.commission_bp <= high:
        raise InvalidInput(
            f"{percent_text(low)}%–{percent_text(high)}%",
            field="commission_bp",
            code="commission_out_of_bounds",
            min_bp=low,
            max_bp=high,
        )
    if product.status not in STATUSES:
        raise InvalidInput(field="status", code="status_invalid")
    if product.category_id is not None and session.get(Category, product.category_id) is None:
        raise InvalidInput(field="category_id", code="category_unknown")


def _check_slug_free(session: Session, slug: str, product_id: int | None) -> None:
    other = find_product_by_slug(session, slug)
    if other is not None and other.id != product_id:
        raise Conflict(field="slug", code="slug_taken")


def create_product(
    session: Session,
    *,
    actor_id: int,
    shop_id: int,
    slug: str,
    title: str,
    price_fen: int,
    stock: int,
    commission_bp: int,
    list_price_fen: int | None = None,
    brand: str = "",
    description_md: str = "",
    category_id: int | None = None,
    status: str = PRODUCT_ACTIVE,
    commission_bounds: tuple[int, int] = DEFAULT_COMMISSION_BOUNDS,
    now: datetime | None = None,
) -> Product:
    """Add a product to a shop (its owner or an admin).

    Raises NotFound (shop), Forbidden, InvalidInput (a rule, naming the field) or Conflict (slug taken).
    """
    now = now or utcnow()
    product = Product(
        shop_id=shop_id,
        slug=(slug or "").strip(),
        title=title,
        brand=brand or "",
        description_md=description_md or "",
        price_fen=price_fen,
        list_price_fen=list_price_fen,
        stock=stock,
        commission_bp=commission_bp,
        category_id=category_id,
        status=status,
        created_at=now,
        updated_at=now,
    )
    with atomic(session):
        _check_can_manage(session, get_shop(session, shop_id), actor_id)
        _check_product(session, product, commission_bounds)
        _check_slug_free(session, product.slug, None)
        product.description_html = render_description(product.description_md)
        session.add(product)
    return product


def update_product(
    session: Session,
    *,
    actor_id: int,
    product_id: int,
    commission_bounds: tuple[int, int] = DEFAULT_COMMISSION_BOUNDS,
    now: datetime | None = None,
    **fields: object,
) -> Product:
    """Change some of a product's fields (the names create_product takes) as its owner or an admin.

    Raises NotFound, Forbidden, InvalidInput or Conflict (slug taken); on any error nothing changes.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"update_product() got unexpected fields: {', '.join(sorted(unknown))}")
    with atomic(session):
        product = get_editable_product(session, product_id=product_id, actor_id=actor_id)
        # The checks query; flushing the half-changed row first would trip the database's constraints
        # (unique slug, non-negative stock) before our rules could explain the problem.
        with session.no_autoflush:
            for name, value in fields.items():
                setattr(product, name, value.strip() if isinstance(value, str) and name == "slug" else value)
            _check_product(session, product, commission_bounds)
            _check_slug_free(session, product.slug, product.id)
        if "description_md" in fields:
            product.description_html = render_description(product.description_md)
        product.updated_at = now or utcnow()
        session.add(product)
    return product


def set_product_hidden(session: Session, *, product_id: int, actor_id: int, hidden: bool) -> Product:
    """Hide a product from shoppers, or show it again (the shop owner or an admin). Raises NotFound, Forbidden."""
    with atomic(session):
        product = get_editable_product(session, product_id=product_id, actor_id=actor_id)
        product.status = PRODUCT_HIDDEN if hidden else PRODUCT_ACTIVE
        product.updated_at = utcnow()
        session.add(product)
    return product


def add_product_image(session: Session, *, product_id: int, actor_id: int, upload_id: int, alt: str = "") -> ProductImage:
    """Append an uploaded image to a product's gallery. Raises NotFound, Forbidden (someone else's upload too)."""
    alt = _clean_text(alt, field_name="alt", max_length=200)
    with atomic(session):
        product = get_editable_product(session, product_id=product_id, actor_id=actor_id)
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise NotFound()
        actor = _get_user(session, actor_id)
        if upload.owner_id is not None and upload.owner_id != actor_id and not actor.is_admin:
            raise Forbidden()
        last = session.exec(select(func.max(ProductImage.position)).where(ProductImage.product_id == product_id)).one()
        image = ProductImage(product_id=product_id, upload_id=upload_id, position=(last + 1) if last is not None else 0, alt=alt)
        product.updated_at = utcnow()
        session.add(image)
        session.add(product)
    return image


def list_product_images(session: Session, product_id: int) -> list[tuple[ProductImage, Upload]]:
    rows = session.exec(
        select(ProductImage, Upload)
        .join(Upload, Upload.id == ProductImage.upload_id)
        .where(ProductImage.product_id == product_id)
        .order_by(ProductImage.position, ProductImage.id)
    ).all()
    return [(image, upload) for image, upload in rows]


def find_cover_images(session: Session, product_ids: list[int]) -> dict[int, Upload]:
    """Each product's first image, in one query: {product_id: Upload}; products without images are absent."""
    if not product_ids:
        return {}
    rows = session.exec(
        select(ProductImage.product_id, Upload)
        .join(Upload, Upload.id == ProductImage.upload_id)
        .where(ProductImage.product_id.in_(product_ids))
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    ).all()
    covers: dict[int, Upload] = {}
    for product_id, upload in rows:
        covers.setdefault(product_id, upload)
    return covers


def cover_image_urls(session: Session, product_ids: Iterable[int]) -> dict[int, str]:
    """Each product's first image as a /media/ URL, in one query; products without images are absent."""
    covers = find_cover_images(session, sorted(set(product_ids)))
    return {product_id: f"/media/{upload.filename}" for product_id, upload in covers.items()}


def _viewer_can_manage(session: Session, shop: Shop, viewer_id: int | None) -> bool:
    if viewer_id is None:
        return False
    viewer = session.get(User, viewer_id)
    return viewer is not None and viewer.is_active and (viewer.id == shop.owner_id or viewer.is_admin)


def list_featured_articles(session: Session, product_id: int, *, limit: int = FEATURED_LIMIT) -> list[FeaturedArticle]:
    """Published, visible articles that feature the product, newest first."""
    rows = session.exec(
        select(Article, User)
        .join(ArticleProduct, ArticleProduct.article_id == Article.id)
        .join(User, User.id == Article.author_id)
        .where(
            ArticleProduct.product_id == product_id,
            Article.status == PUBLISHED,
            Article.is_hidden == False,  # noqa: E712 - SQL comparison, not Python truthiness
            User.is_active == True,  # noqa: E712
        )
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(limit)
    ).all()
    return [
        FeaturedArticle(
            title=article.title,
            slug=article.slug,
            author_handle=author.handle,
            author_name=author.display_name,
            kind=article.kind,
            published_at=article.published_at,
        )
        for article, author in rows
    ]


def get_product_page(session: Session, *, slug: str, viewer_id: int | None) -> ProductPage:
    """Everything the public product page shows. Raises NotFound (hidden products too, except to owner and admins)."""
    product = find_product_by_slug(session, slug)
    if product is None:
        raise NotFound()
    shop = get_shop(session, product.shop_id)
    can_manage = _viewer_can_manage(session, shop, viewer_id)
    if product.status != PRODUCT_ACTIVE and not can_manage:
        raise NotFound()
    return ProductPage(
        product=product,
        shop=shop,
        category=session.get(Category, product.category_id) if product.category_id else None,
        images=list_product_images(session, product.id),
        featured_in=list_featured_articles(session, product.id),
        can_edit=can_manage,
    )


def list_shop_products(session: Session, *, shop_id: int) -> list[Product]:
    """All of a shop's products, hidden ones included, newest first (the merchant's own list)."""
    return list(session.exec(select(Product).where(Product.shop_id == shop_id).order_by(Product.created_at.desc(), Product.id.desc())).all())


def list_category_products(session: Session, *, slug: str, page: int = 1, page_size: int = CATEGORY_PAGE_SIZE) -> CategoryPage:
    """One page of a category's active products, newest first. Raises NotFound (unknown category, page past the end)."""
    category = find_category_by_slug(session, slug)
    if category is None:
        raise NotFound()
    visible = (Product.category_id == category.id, Product.status == PRODUCT_ACTIVE)
    total = session.exec(select(func.count(Product.id)).where(*visible)).one()
    page = max(1, page)
    if page > 1 and (page - 1) * page_size >= total:
        raise NotFound()
    products = list(
        session.exec(
            select(Product)
            .where(*visible)
            .order_by(Product.created_at.desc(), Product.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    covers = find_cover_images(session, [p.id for p in products])
    return CategoryPage(category=category, products=products, covers=covers, page=page, total=total, page_size=page_size)
