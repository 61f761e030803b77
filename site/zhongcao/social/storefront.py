"""A creator's storefront (小店 · /@handle): profile, public articles, "my picks", and the author's own drafts."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article, ArticleProduct
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product
from zhongcao.catalog.services import cover_image_urls
from zhongcao.errors import NotFound
from zhongcao.media.models import Upload
from zhongcao.social import listings, services
from zhongcao.social.listings import ArticleCard, Cursor

ARTICLES_PER_PAGE = 24
MAX_PICKS = 60


@dataclass(frozen=True)
class Pick:
    """A product the creator featured in a public article, with its first image."""

    product: Product
    image_url: str | None

    @property
    def is_sold_out(self) -> bool:
        return self.product.stock <= 0


@dataclass
class Storefront:
    user: User
    avatar_url: str | None
    follower_count: int
    article_count: int
    is_following: bool
    is_own: bool
    articles: list[ArticleCard] = field(default_factory=list)
    next_cursor: Cursor | None = None
    picks: list[Pick] = field(default_factory=list)
    # The author's drafts and admin-hidden articles: filled only when the author is looking.
    workbench: list[Article] = field(default_factory=list)


def get_profile(session: Session, handle: str) -> User:
    """The active account whose handle matches, ignoring case. Raises NotFound."""
    key = (handle or "").strip().lstrip("@").lower()
    user = session.exec(select(User).where(User.handle_key == key)).first() if key else None
    if user is None or not user.is_active:
        raise NotFound()
    return user


def load_storefront(
    session: Session, *, user: User, viewer_id: int | None, before: Cursor | None = None
) -> Storefront:
    """Everything /@handle shows for `user`, as `viewer_id` (None: anonymous) may see it.

    Readers who are not creators get only their profile: no articles, picks or follow button.
    """
    avatar = session.get(Upload, user.avatar_id) if user.avatar_id else None
    is_own = viewer_id == user.id
    page = Storefront(
        user=user,
        avatar_url=f"/media/{avatar.filename}" if avatar else None,
        follower_count=services.follower_count(session, user.id),
        article_count=listings.count_public_articles(session, creator_id=user.id) if user.is_creator else 0,
        is_following=services.is_following(session, follower_id=viewer_id, creator_id=user.id),
        is_own=is_own,
    )
    if not user.is_creator:
        return page
    cards = listings.creator_articles(session, creator_id=user.id, limit=ARTICLES_PER_PAGE + 1, before=before)
    page.articles = cards[:ARTICLES_PER_PAGE]
    page.next_cursor = cards[ARTICLES_PER_PAGE - 1].cursor if len(cards) > ARTICLES_PER_PAGE else None
    page.picks = creator_picks(session, creator_id=user.id)
    if is_own:
        page.workbench = creator_workbench(session, creator_id=user.id)
    return page


def creator_picks(session: Session, *, creator_id: int, limit: int = MAX_PICKS) -> list[Pick]:
    """Every distinct active product featured in the creator's public articles, most recently featured first."""
    featured = (
        select(ArticleProduct.product_id, func.max(Article.published_at).label("featured_at"))
        .join(Article, Article.id == ArticleProduct.article_id)
        .join(User, User.id == Article.author_id)
        .where(Article.author_id == creator_id, listings.is_public())
        .group_by(ArticleProduct.product_id)
        .subquery("featured")
    )
    products = session.exec(
        select(Product)
        .join(featured, featured.c.product_id == Product.id)
        .where(Product.status == PRODUCT_ACTIVE)
        .order_by(featured.c.featured_at.desc(), Product.id.desc())
        .limit(limit)
    ).all()
    first_images = cover_image_urls(session, [product.id for product in products])
    return [Pick(product, first_images.get(product.id)) for product in products]


def creator_workbench(session: Session, *, creator_id: int) -> list[Article]:
    """The creator's articles nobody else sees: drafts and admin-hidden ones, last edited first."""
    return list(
        session.exec(
            select(Article)
            .where(Article.author_id == creator_id, or_(Article.status != PUBLISHED, Article.is_hidden.is_(True)))
            .order_by(Article.updated_at.desc(), Article.id.desc())
        ).all()
    )
