"""Who earns commission on a cart line: decided when the line is added, frozen on it, checked again at order time.

The rules (issue 4 §5; the in-site page for creators states them in plain words):

- Three paths carry attribution. A product block in an article credits the article's author
  (source "article", ref = article id). A personal share link `/s/<code>` credits the sharer
  (source "share", ref = share link id). A creator's storefront `/@handle` credits the creator
  (source "storefront", ref = creator id).
- Last click wins within ATTRIBUTION_WINDOW_DAYS (default 7). The share-link click lives in the signed
  `zc_ref` cookie (attribution/clicks.py), which every later share click replaces. A share link leads
  *to* an article or a product, so it keeps its credit while the reader is on the page it led to:
  adding from a block of the very article the link pointed at, or adding the very product (or a
  product the linked article features) from its product page, credits the sharer. Any other path the
  reader takes afterwards (another article's block, a storefront) is a newer click and wins.
- The decision is frozen on the cart line when the line is added and never re-read from the cookie.
  Adding the same product again with a new attribution replaces it (last click wins); adding it
  again with none keeps the earlier one.
- One level only: a line names exactly one beneficiary, never a chain of referrers (一级分销).
- Nobody earns on their own purchase (自购): not when the buyer is the beneficiary, not when the buyer
  owns the product's shop, and not when the beneficiary owns the shop (a merchant cannot pay itself
  commission). An anonymous cart's buyer is known only at sign-in or at order time, so checkout applies
  `is_eligible` again when it copies the line onto the order.
- Hidden articles, deactivated accounts and non-creators (for storefronts) earn nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import Article, ArticleProduct
from zhongcao.attribution.clicks import Attribution
from zhongcao.attribution.links import find_link
from zhongcao.attribution.models import TARGET_ARTICLE, TARGET_PRODUCT
from zhongcao.catalog.models import Shop
from zhongcao.commerce.models import SOURCE_ARTICLE, SOURCE_SHARE, SOURCE_STOREFRONT
from zhongcao.social.listings import is_public

SOURCES = (SOURCE_ARTICLE, SOURCE_SHARE, SOURCE_STOREFRONT)


@dataclass(frozen=True)
class Credit:
    """The one person a cart line credits, and the path that led to the sale."""

    beneficiary_id: int
    source: str
    ref: int


class ProductRef(Protocol):
    """What crediting needs of a product: a Product row, or the cart's plain view of one."""

    id: int
    shop_id: int


def decide_credit(
    session: Session,
    *,
    product: ProductRef,
    source: str | None,
    ref: int | None,
    share_click: Attribution | None,
    buyer_id: int | None,
) -> Credit | None:
    """The credit for adding `product` from `source` (article / storefront / None for the product page),
    given the reader's last share click from the cookie (already checked against the window).

    Returns None when nobody earns. Untrusted input: `source` and `ref` come from the request, so the
    article must really feature the product and the creator must really have it among their picks.
    """
    credit = None
    if share_click is not None and _share_leads_here(session, share_click, product=product, source=source, ref=ref):
        link = find_link(session, share_click.code)
        if link is not None and link.sharer_id == share_click.sharer_id:
            credit = Credit(link.sharer_id, SOURCE_SHARE, link.id)
    if credit is None and source == SOURCE_ARTICLE and ref is not None:
        author_id = _public_article_author(session, article_id=ref, product_id=product.id)
        if author_id is not None:
            credit = Credit(author_id, SOURCE_ARTICLE, ref)
    if credit is None and source == SOURCE_STOREFRONT and ref is not None:
        if _features_in_storefront(session, creator_id=ref, product_id=product.id):
            credit = Credit(ref, SOURCE_STOREFRONT, ref)
    if credit is None:
        return None
    shop_owner_id = session.get(Shop, product.shop_id).owner_id
    if not is_eligible(session, beneficiary_id=credit.beneficiary_id, buyer_id=buyer_id, shop_owner_id=shop_owner_id):
        return None
    return credit


def is_eligible(session: Session, *, beneficiary_id: int | None, buyer_id: int | None, shop_owner_id: int) -> bool:
    """Whether `beneficiary_id` may earn on this purchase: an active account that is neither the buyer
    (self-referral) nor the shop's owner, on a purchase the shop's owner is not making themselves."""
    if beneficiary_id is None:
        return False
    if beneficiary_id == buyer_id or beneficiary_id == shop_owner_id:
        return False
    if buyer_id is not None and buyer_id == shop_owner_id:
        return False
    beneficiary = session.get(User, beneficiary_id)
    return beneficiary is not None and bool(beneficiary.is_active)


def _share_leads_here(session: Session, click: Attribution, *, product: ProductRef, source: str | None, ref: int | None) -> bool:
    if click.target_kind == TARGET_PRODUCT:
        # A product link leads to the product page; the product page (source None) or any block adding
        # that same product keeps the sharer's credit unless the reader went on to a storefront.
        return click.target_id == product.id and source != SOURCE_STOREFRONT
    if click.target_kind != TARGET_ARTICLE:
        return False
    if source == SOURCE_ARTICLE:
        return ref == click.target_id
    if source is None:
        # From the linked article the reader may open the product page ("查看商品") and add there.
        return _public_article_author(session, article_id=click.target_id, product_id=product.id) is not None
    return False


def _public_article_author(session: Session, *, article_id: int, product_id: int) -> int | None:
    """The author of a public article featuring the product, or None."""
    return session.exec(
        select(Article.author_id)
        .join(ArticleProduct, ArticleProduct.article_id == Article.id)
        .join(User, User.id == Article.author_id)
        .where(Article.id == article_id, ArticleProduct.product_id == product_id, is_public())
    ).first()


def _features_in_storefront(session: Session, *, creator_id: int, product_id: int) -> bool:
    """True when an active creator features the product in a public article (their storefront's picks)."""
    found = session.exec(
        select(Article.id)
        .join(ArticleProduct, ArticleProduct.article_id == Article.id)
        .join(User, User.id == Article.author_id)
        .where(Article.author_id == creator_id, ArticleProduct.product_id == product_id, User.is_creator.is_(True), is_public())
        .limit(1)
    ).first()
    return found is not None


def find_public_article_id(session: Session, *, handle: str, slug: str) -> int | None:
    """The id of the public article at /@handle/slug, or None."""
    return session.exec(
        select(Article.id)
        .join(User, User.id == Article.author_id)
        .where(User.handle_key == handle.strip().lstrip("@").lower(), Article.slug == slug, is_public())
    ).first()
