"""What readers may see, listed: article cards (latest, popular, one creator's), creators to follow,
and the rows the sitemap needs. Read-only queries over articles, accounts and catalog tables.

"Public" always means: published, not hidden by an admin, by an active account. Drafts and hidden
articles never leave this module except through `creator_workbench`, which only the author sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product
from zhongcao.media.models import Upload
from zhongcao.social.models import Follow

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_Cover = aliased(Upload, name="cover_upload")
_Avatar = aliased(Upload, name="avatar_upload")


@dataclass(frozen=True)
class Cursor:
    """Where a newest-first list stopped: the last item's publication time, with its id to break ties
    (imported articles often share a date)."""

    published_at: datetime
    article_id: int

    def token(self) -> str:
        micros = (self.published_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}-{self.article_id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """The cursor a `token()` produced, or None for anything else (a hand-edited URL is not an error)."""
        micros, _, article_id = (token or "").partition("-")
        if not (micros.isdigit() and article_id.isdigit()) or len(micros) > 18 or len(article_id) > 18:
            return None
        return cls(_EPOCH + timedelta(microseconds=int(micros)), int(article_id))


@dataclass(frozen=True)
class ArticleCard:
    """An article with what a card shows, loaded in the same query: its author and image file names."""

    article: Article
    author: User
    cover_filename: str | None
    avatar_filename: str | None

    @property
    def cover_url(self) -> str | None:
        return f"/media/{self.cover_filename}" if self.cover_filename else None

    @property
    def avatar_url(self) -> str | None:
        return f"/media/{self.avatar_filename}" if self.avatar_filename else None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.article.published_at, self.article.id)


@dataclass(frozen=True)
class CreatorCard:
    user: User
    avatar_filename: str | None
    follower_count: int
    article_count: int

    @property
    def avatar_url(self) -> str | None:
        return f"/media/{self.avatar_filename}" if self.avatar_filename else None


def is_public():
    """The condition an article (joined with its author) must meet to be shown to anyone but its author."""
    return and_(
        Article.status == PUBLISHED,
        Article.is_hidden.is_(False),
        Article.published_at.is_not(None),
        User.is_active.is_(True),
    )


def card_query():
    """SELECT article, author, cover file, avatar file: one row per card, no lazy loads afterwards."""
    return (
        select(Article, User, _Cover.filename, _Avatar.filename)
        .join(User, User.id == Article.author_id)
        .outerjoin(_Cover, _Cover.id == Article.cover_id)
        .outerjoin(_Avatar, _Avatar.id == User.avatar_id)
    )


def newest_first(query, *, before: Cursor | None, limit: int):
    """Order public cards newest first and continue after `before`."""
    if before is not None:
        query = query.where(
            or_(
                Article.published_at < before.published_at,
                and_(Article.published_at == before.published_at, Article.id < before.article_id),
            )
        )
    return query.order_by(Article.published_at.desc(), Article.id.desc()).limit(max(1, min(limit, 100)))


def to_cards(rows: Any) -> list[ArticleCard]:
    return [ArticleCard(article, author, cover, avatar) for article, author, cover, avatar in rows]


def latest_articles(session: Session, *, limit: int, before: Cursor | None = None) -> list[ArticleCard]:
    """Public articles, newest first, after `before`."""
    query = newest_first(card_query().where(is_public()), before=before, limit=limit)
    return to_cards(session.exec(query).all())


def popular_articles(session: Session, *, limit: int) -> list[ArticleCard]:
    """Public articles with the most views (ties: newest first)."""
    query = (
        card_query()
        .where(is_public())
        .order_by(Article.view_count.desc(), Article.published_at.desc(), Article.id.desc())
        .limit(max(1, min(limit, 100)))
    )
    return to_cards(session.exec(query).all())


def creator_articles(
    session: Session, *, creator_id: int, limit: int, before: Cursor | None = None
) -> list[ArticleCard]:
    """One creator's public articles, newest first, after `before`."""
    query = card_query().where(is_public(), Article.author_id == creator_id)
    return to_cards(session.exec(newest_first(query, before=before, limit=limit)).all())


def count_public_articles(session: Session, *, creator_id: int) -> int:
    query = (
        select(func.count(Article.id))
        .join(User, User.id == Article.author_id)
        .where(is_public(), Article.author_id == creator_id)
    )
    return session.exec(query).one()


def suggested_creators(session: Session, *, viewer_id: int | None, limit: int) -> list[CreatorCard]:
    """Active creators the viewer does not follow yet (never the viewer), most followed first."""
    followers = (
        select(Follow.creator_id, func.count().label("n")).group_by(Follow.creator_id).subquery("follower_counts")
    )
    articles = (
        select(Article.author_id, func.count().label("n"))
        .join(User, User.id == Article.author_id)
        .where(is_public())
        .group_by(Article.author_id)
        .subquery("article_counts")
    )
    query = (
        select(User, _Avatar.filename, func.coalesce(followers.c.n, 0), func.coalesce(articles.c.n, 0))
        .outerjoin(_Avatar, _Avatar.id == User.avatar_id)
        .outerjoin(followers, followers.c.creator_id == User.id)
        .outerjoin(articles, articles.c.author_id == User.id)
        .where(User.is_creator.is_(True), User.is_active.is_(True))
    )
    if viewer_id is not None:
        already = select(Follow.creator_id).where(Follow.follower_id == viewer_id)
        query = query.where(User.id != viewer_id, User.id.not_in(already))
    query = query.order_by(
        func.coalesce(followers.c.n, 0).desc(), func.coalesce(articles.c.n, 0).desc(), User.id
    ).limit(max(1, min(limit, 50)))
    return [CreatorCard(user, avatar, int(n_followers), int(n_articles)) for user, avatar, n_followers, n_articles in session.exec(query).all()]


def public_article_locations(session: Session) -> list[tuple[str, str, datetime]]:
    """(author handle, slug, last change) of every public article, for the sitemap."""
    query = (
        select(User.handle, Article.slug, Article.updated_at, Article.published_at)
        .join(User, User.id == Article.author_id)
        .where(is_public())
        .order_by(Article.published_at.desc(), Article.id.desc())
    )
    return [(handle, slug, max(updated, published)) for handle, slug, updated, published in session.exec(query).all()]


def creator_locations(session: Session) -> list[tuple[str, datetime]]:
    """(handle, last change) of every active creator, for the sitemap."""
    query = (
        select(User.handle, User.updated_at)
        .where(User.is_creator.is_(True), User.is_active.is_(True))
        .order_by(User.handle_key)
    )
    return list(session.exec(query).all())


def active_product_locations(session: Session) -> list[tuple[str, datetime]]:
    """(slug, last change) of every active product, for the sitemap."""
    query = select(Product.slug, Product.updated_at).where(Product.status == PRODUCT_ACTIVE).order_by(Product.slug)
    return list(session.exec(query).all())
