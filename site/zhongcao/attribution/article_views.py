"""Counting article views cheaply: one beacon request per page view, deduplicated per visitor per hour.

Article pages are cached for anonymous readers, so the page render itself never writes. The page
asks for a small beacon (GET …/seen) a moment after it loads; each counted view adds one to the
article's counter for the day (ArticleDailyViews, what trending decays over) and to its lifetime
`Article.view_count` (what "most read" shows). Bots, the author, and the same visitor again within
VIEW_DEDUP are not counted. Dedup marks older than VIEW_DEDUP are deleted as the article gets new
views, so the mark table stays about one hour of visitors deep.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles import services as articles
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.attribution.models import ArticleDailyViews, ArticleViewMark
from zhongcao.attribution.visitors import is_bot
from zhongcao.clock import utcnow
from zhongcao.db import atomic

VIEW_DEDUP = timedelta(hours=1)


def record_article_view(
    session: Session, *, article_id: int, visitor_hash: str, user_agent: str | None, viewer_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Count one reader's view of a public article; True when it counted.

    Not counted (and nothing written): bots, the author, articles that are not public or do not exist,
    and a visitor whose view of this article already counted within VIEW_DEDUP.
    """
    now = now or utcnow()
    if is_bot(user_agent):
        return False
    row = session.exec(
        select(Article.author_id, Article.status, Article.is_hidden, User.is_active)
        .join(User, User.id == Article.author_id)
        .where(Article.id == article_id)
    ).first()
    if row is None:
        return False
    author_id, status, is_hidden, author_active = row
    if status != PUBLISHED or is_hidden or not author_active or viewer_id == author_id:
        return False
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    with atomic(session):
        session.exec(
            delete(ArticleViewMark).where(ArticleViewMark.article_id == article_id, ArticleViewMark.seen_at <= now - VIEW_DEDUP)
        )
        marked = session.exec(
            insert(ArticleViewMark)
            .values(article_id=article_id, visitor_hash=visitor_hash, seen_at=now)
            .on_conflict_do_nothing(index_elements=["article_id", "visitor_hash"])
            .returning(ArticleViewMark.article_id)
        ).first()
        if marked is None:  # the visitor's view of this article already counted within VIEW_DEDUP
            return False
        daily = insert(ArticleDailyViews).values(article_id=article_id, day=now.date(), views=1)
        session.exec(
            daily.on_conflict_do_update(
                index_elements=["article_id", "day"], set_={"views": ArticleDailyViews.views + 1}
            )
        )
        articles.record_view(session, article_id=article_id)
    return True


def daily_views(session: Session, *, article_id: int) -> dict:
    """{day: counted views} for one article, oldest first."""
    rows = session.exec(
        select(ArticleDailyViews.day, ArticleDailyViews.views)
        .where(ArticleDailyViews.article_id == article_id)
        .order_by(ArticleDailyViews.day)
    ).all()
    return {day: views for day, views in rows}
