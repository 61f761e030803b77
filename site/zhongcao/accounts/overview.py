"""What the admin pages read: site-wide counts, hidden content, and turning a pasted link into an id.

Read-only: hiding and unhiding go through the articles and catalog domains' own functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sqlalchemy import func
from sqlmodel import Session, select

from zhongcao.accounts.models import CreatorApplication, User
from zhongcao.articles.models import Article
from zhongcao.catalog.models import PRODUCT_HIDDEN, Product
from zhongcao.errors import InvalidInput

_PRODUCT_PATH = re.compile(r"^/products/(?P<slug>[^/]+)/?$")
_ARTICLE_PATH = re.compile(r"^/@(?P<handle>[^/]+)/(?P<slug>[^/]+)/?$")
_ARTICLE_ID_PATH = re.compile(r"^/(?:articles|write)/(?P<id>\d+)(/.*)?$")  # /write/<id> is the editor


@dataclass(frozen=True)
class SiteCounts:
    users: int
    creators: int
    merchants: int
    pending_applications: int
    articles: int
    hidden_articles: int
    products: int
    hidden_products: int


def site_counts(session: Session) -> SiteCounts:
    """The numbers on the admin dashboard."""

    def count(column, *conditions) -> int:
        return session.exec(select(func.count(column)).where(*conditions)).one()

    return SiteCounts(
        users=count(User.id),
        creators=count(User.id, User.is_creator.is_(True)),
        merchants=count(User.id, User.is_merchant.is_(True)),
        pending_applications=count(CreatorApplication.id, CreatorApplication.status == "pending"),
        articles=count(Article.id),
        hidden_articles=count(Article.id, Article.is_hidden.is_(True)),
        products=count(Product.id),
        hidden_products=count(Product.id, Product.status == PRODUCT_HIDDEN),
    )


def list_hidden_articles(session: Session, *, limit: int = 50) -> list[Article]:
    return list(
        session.exec(select(Article).where(Article.is_hidden.is_(True)).order_by(Article.updated_at.desc()).limit(limit))
    )


def list_hidden_products(session: Session, *, limit: int = 50) -> list[Product]:
    return list(
        session.exec(select(Product).where(Product.status == PRODUCT_HIDDEN).order_by(Product.updated_at.desc()).limit(limit))
    )


def find_article_id(session: Session, reference: str) -> int:
    """The id of the article named by an id, "/@handle/slug" or "/write/<id>" (a full URL works too).

    Raises InvalidInput(article_not_found).
    """
    reference = (reference or "").strip()
    if reference.isdigit():
        article = session.get(Article, int(reference))
        if article is not None:
            return article.id
        raise InvalidInput(field="article", code="article_not_found")
    path = _path_of(reference)
    if match := _ARTICLE_ID_PATH.match(path):
        return find_article_id(session, match["id"])
    if match := _ARTICLE_PATH.match(path):
        article_id = session.exec(
            select(Article.id)
            .join(User, User.id == Article.author_id)
            .where(User.handle_key == match["handle"].lower(), Article.slug == match["slug"])
        ).first()
        if article_id is not None:
            return article_id
    raise InvalidInput(field="article", code="article_not_found")


def find_product_id(session: Session, reference: str) -> int:
    """The id of the product named by an id, a slug, or "/products/<slug>" (a full URL works too).

    Raises InvalidInput(product_not_found).
    """
    reference = (reference or "").strip()
    if reference.isdigit():
        product = session.get(Product, int(reference))
        if product is not None:
            return product.id
        raise InvalidInput(field="product", code="product_not_found")
    path = _path_of(reference)
    match = _PRODUCT_PATH.match(path)
    slug = match["slug"] if match else reference
    product_id = session.exec(select(Product.id).where(Product.slug == slug)).first() if slug else None
    if product_id is None:
        raise InvalidInput(field="product", code="product_not_found")
    return product_id


def _path_of(reference: str) -> str:
    return unquote(urlsplit(reference).path)
