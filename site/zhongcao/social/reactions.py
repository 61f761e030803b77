"""Likes (点赞) and collections (收藏) of articles, a reader's collections, and a creator's totals.

Both are rows keyed by (user, article), so liking twice is impossible and counts are COUNT(*) over
an indexed column: no counter to drift when clicks race. Adding uses INSERT … ON CONFLICT DO NOTHING,
so two simultaneous clicks on PostgreSQL never become an IntegrityError.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import NotFound
from zhongcao.plainsql import PlainQuery
from zhongcao.social import listings, notifications
from zhongcao.social.listings import ArticleCard
from zhongcao.social.models import ArticleCollect, ArticleLike, Comment

LIKE = "like"
COLLECT = "collect"
_TABLES = {LIKE: ArticleLike, COLLECT: ArticleCollect}
_NOTIFICATION_KINDS = {LIKE: notifications.ARTICLE_LIKED, COLLECT: notifications.ARTICLE_COLLECTED}
_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
COLLECTIONS_PER_PAGE = 24
STATS_PER_PAGE = 50


@dataclass(frozen=True)
class Reactions:
    """What the like and collect buttons show for one article and one viewer."""

    article_id: int
    like_count: int
    collect_count: int
    liked: bool
    collected: bool


@dataclass(frozen=True)
class CollectionPage:
    cards: list[ArticleCard]
    page: int
    has_next: bool


@dataclass(frozen=True)
class ArticleStats:
    article: Article
    likes: int
    collects: int
    comments: int

    @property
    def views(self) -> int:
        return self.article.view_count


@dataclass(frozen=True)
class StatsPage:
    rows: list[ArticleStats]
    page: int
    has_next: bool
    total_views: int
    total_likes: int
    total_collects: int
    total_comments: int


def like_article(session: Session, *, user_id: int, article_id: int, now: datetime | None = None) -> Reactions:
    """Like a public article; liking again changes nothing. Tells the author (batched). Raises NotFound."""
    return _add(session, LIKE, user_id=user_id, article_id=article_id, now=now)


def unlike_article(session: Session, *, user_id: int, article_id: int) -> Reactions:
    """Take a like back; fine when there was none. Raises NotFound for an unknown article."""
    return _remove(session, LIKE, user_id=user_id, article_id=article_id)


def collect_article(session: Session, *, user_id: int, article_id: int, now: datetime | None = None) -> Reactions:
    """Add a public article to the reader's collections; again changes nothing. Tells the author (batched).
    Raises NotFound."""
    return _add(session, COLLECT, user_id=user_id, article_id=article_id, now=now)


def uncollect_article(session: Session, *, user_id: int, article_id: int) -> Reactions:
    """Remove an article from the reader's collections; fine when it was not there. Raises NotFound."""
    return _remove(session, COLLECT, user_id=user_id, article_id=article_id)


def get_public_article(session: Session, article_id: int) -> tuple[Article, User]:
    """A published, visible article of an active author, with its author. Raises NotFound."""
    row = session.exec(
        select(Article, User).join(User, User.id == Article.author_id).where(Article.id == article_id, listings.is_public())
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


# Plain SQL, built once: this runs on every signed-in article view, where building the same four
# subqueries with the ORM cost ten times more than running them.
_REACTIONS = PlainQuery(
    "SELECT"
    " (SELECT count(*) FROM article_like WHERE article_id = :article_id),"
    " (SELECT count(*) FROM article_collect WHERE article_id = :article_id),"
    " (SELECT count(*) FROM article_like WHERE article_id = :article_id AND user_id = :viewer_id),"
    " (SELECT count(*) FROM article_collect WHERE article_id = :article_id AND user_id = :viewer_id)"
)


def reactions_for(session: Session, *, article_id: int, viewer_id: int | None) -> Reactions:
    """The article's like and collect counts, and whether `viewer_id` (None: anonymous) liked or collected it."""
    like_count, collect_count, liked, collected = _REACTIONS.first(
        session, article_id=article_id, viewer_id=viewer_id if viewer_id is not None else -1
    )
    return Reactions(
        article_id=article_id,
        like_count=like_count,
        collect_count=collect_count,
        liked=bool(liked),
        collected=bool(collected),
    )


def count(session: Session, kind: str, article_id: int) -> int:
    """How many readers liked (kind "like") or collected ("collect") the article."""
    table = _TABLES[kind]
    return session.exec(select(func.count()).select_from(table).where(table.article_id == article_id)).one()


def collected_articles(
    session: Session, *, user_id: int, page: int = 1, per_page: int = COLLECTIONS_PER_PAGE
) -> CollectionPage:
    """The reader's collected articles that are still public, most recently collected first."""
    page = max(1, min(page, 10_000))
    query = (
        listings.card_query()
        .join(ArticleCollect, ArticleCollect.article_id == Article.id)
        .where(ArticleCollect.user_id == user_id, listings.is_public())
        .order_by(ArticleCollect.created_at.desc(), Article.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    cards = listings.to_cards(session.exec(query).all())
    return CollectionPage(cards=cards[:per_page], page=page, has_next=len(cards) > per_page)


def creator_article_stats(
    session: Session, *, creator_id: int, page: int = 1, per_page: int = STATS_PER_PAGE
) -> StatsPage:
    """Likes, collects, visible comments and views of each of the creator's published articles
    (newest first), with the totals over all of them."""
    page = max(1, min(page, 10_000))
    likes = select(func.count()).where(ArticleLike.article_id == Article.id).correlate(Article).scalar_subquery()
    collects = select(func.count()).where(ArticleCollect.article_id == Article.id).correlate(Article).scalar_subquery()
    comments = (
        select(func.count())
        .where(Comment.article_id == Article.id, Comment.deleted_at.is_(None), Comment.is_hidden.is_(False))
        .correlate(Article)
        .scalar_subquery()
    )
    mine = (Article.author_id == creator_id, Article.status == PUBLISHED)
    rows = session.exec(
        select(Article, likes, collects, comments)
        .where(*mine)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    stats = [ArticleStats(article, int(n_likes), int(n_collects), int(n_comments)) for article, n_likes, n_collects, n_comments in rows]
    total_views = session.exec(select(func.coalesce(func.sum(Article.view_count), 0)).where(*mine)).one()

    def total(table, *extra) -> int:
        return session.exec(
            select(func.count()).select_from(table).join(Article, Article.id == table.article_id).where(*mine, *extra)
        ).one()

    return StatsPage(
        rows=stats[:per_page],
        page=page,
        has_next=len(stats) > per_page,
        total_views=int(total_views),
        total_likes=total(ArticleLike),
        total_collects=total(ArticleCollect),
        total_comments=total(Comment, Comment.deleted_at.is_(None), Comment.is_hidden.is_(False)),
    )


def _add(session: Session, kind: str, *, user_id: int, article_id: int, now: datetime | None) -> Reactions:
    now = now or utcnow()
    table = _TABLES[kind]
    with atomic(session):
        article, _author = get_public_article(session, article_id)
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound()
        insert = _INSERTS[session.get_bind().dialect.name]
        result = session.exec(
            insert(table)
            .values(user_id=user_id, article_id=article_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "article_id"])
            # psycopg reports rowcount -1 for INSERT … ON CONFLICT; a returned row means "inserted" everywhere.
            .returning(table.user_id)
        )
        added = result.first() is not None
    if added:
        notifications.notify_reaction(
            session, kind=_NOTIFICATION_KINDS[kind], recipient_id=article.author_id, actor_id=user_id,
            article_id=article_id, now=now,
        )
    return reactions_for(session, article_id=article_id, viewer_id=user_id)


def _remove(session: Session, kind: str, *, user_id: int, article_id: int) -> Reactions:
    table = _TABLES[kind]
    if session.get(Article, article_id) is None:
        raise NotFound()
    with atomic(session):
        session.exec(delete(table).where(table.user_id == user_id, table.article_id == article_id))
    return reactions_for(session, article_id=article_id, viewer_id=user_id)
