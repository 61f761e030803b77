"""Fill an article's block markers with product cards from current catalog data.

All products an article names are loaded in one query (with their shop and first image), however
many blocks there are, so an article page costs the same number of queries with 1 block or 40.
A product that was hidden or deleted since shows "no longer available" instead of failing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlmodel import Session, select

from zhongcao.articles.markdown import BlockItem, BlockSpec, blocks_from_json, problem_text
from zhongcao.articles.models import Article
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product, ProductImage, Shop
from zhongcao.config import PROJECT_ROOT
from zhongcao.media.models import Upload
from zhongcao.formatting import yuan

MARKER = re.compile(r'<div data-zc-block="(\d+)"></div>')
DISCLOSURE = "广告 · 含推广链接 / Ad · contains affiliate links"


@dataclass(frozen=True)
class CardProduct:
    """A product as a card shows it, from one row of the batched query."""

    product: Product
    shop: Shop
    image_filename: str | None

    @property
    def is_available(self) -> bool:
        return self.product.status == PRODUCT_ACTIVE

    @property
    def is_commissionable(self) -> bool:
        return self.is_available and self.product.commission_bp > 0

    @property
    def image_url(self) -> str | None:
        return f"/media/{self.image_filename}" if self.image_filename else None


@dataclass(frozen=True)
class Card:
    item: BlockItem
    found: CardProduct | None  # None: deleted, or never existed

    @property
    def is_available(self) -> bool:
        return self.found is not None and self.found.is_available


@dataclass(frozen=True)
class FilledBlock:
    spec: BlockSpec
    cards: list[Card]

    @property
    def is_disclosed(self) -> bool:
        return any(card.found is not None and card.found.is_commissionable for card in self.cards)


@dataclass(frozen=True)
class Filled:
    html: Markup
    products: dict[str, CardProduct]


def load_products(session: Session, slugs: set[str] | list[str]) -> dict[str, CardProduct]:
    """Products by slug, each with its shop and first image, in one query (whatever their status)."""
    slugs = sorted(set(slugs))
    if not slugs:
        return {}
    first_image = (
        select(Upload.filename)
        .join(ProductImage, ProductImage.upload_id == Upload.id)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Product, Shop, first_image.label("image_filename"))
        .join(Shop, Shop.id == Product.shop_id)
        .where(Product.slug.in_(slugs))
    ).all()
    return {product.slug: CardProduct(product, shop, image) for product, shop, image in rows}


def block_slugs(blocks: list[BlockSpec]) -> list[str]:
    """Every slug the blocks name, in order of first appearance."""
    return list(dict.fromkeys(item.slug for block in blocks for item in block.items))


def product_problems(blocks: list[BlockSpec], products: dict[str, CardProduct]) -> list[str]:
    """Author-facing problems for items naming a product that does not exist or is not on sale."""
    problems = []
    for block in blocks:
        for item in block.items:
            found = products.get(item.slug)
            if found is None:
                problems.append(problem_text(f"找不到商品 “{item.slug}”", f"no product “{item.slug}”", item.line))
            elif not found.is_available:
                problems.append(problem_text(f"商品 “{item.slug}” 已下架", f"product “{item.slug}” is not on sale", item.line))
    return problems


def fill(session: Session, html: str, blocks: list[BlockSpec], products: dict[str, CardProduct] | None = None) -> Filled:
    """Replace the markers in stored HTML with rendered blocks; loads the products unless given."""
    if products is None:
        products = load_products(session, block_slugs(blocks))
    template = _environment().get_template("articles/partials/product_block.html")

    def render_marker(match: re.Match) -> str:
        number = int(match.group(1))
        if number >= len(blocks):
            return ""
        spec = blocks[number]
        filled = FilledBlock(spec, [Card(item, products.get(item.slug)) for item in spec.items])
        return template.render(block=filled, disclosure=DISCLOSURE)

    # The stored HTML was sanitised at save time; markers are ours (authors' data-* never survive).
    return Filled(Markup(MARKER.sub(render_marker, html)), products)


def fill_blocks(session: Session, article: Article) -> Markup:
    """The article's stored HTML with every block filled from current product data (one query)."""
    return fill(session, article.body_html, blocks_from_json(article.blocks_json)).html


def stars(rating: str | None) -> str:
    """A 0–5 rating in half steps as stars: "4.5" -> "★★★★½"."""
    if rating is None:
        return ""
    value = Decimal(rating)
    full = int(value)
    return "★" * full + ("½" if value - full else "") + "☆" * (5 - full - (1 if value - full else 0))


@cache
def _environment() -> Environment:
    # Our own Jinja environment over the same templates folder: domain code stays free of Flask, and
    # the cards need nothing from the request.
    environment = Environment(
        loader=FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["yuan"] = yuan
    environment.filters["stars"] = stars
    return environment
