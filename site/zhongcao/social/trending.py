"""Trending articles: recent views, likes, collects and comments, each weighted and decayed by its age.

    score(article) = Σ over the last 7 days of  weight(kind) × events / (age_hours + 2) ** 1.5

Every event is decayed by its own age, so a burst of interest today outranks a bigger one last week,
and an article with no recent events drops out. Ages are taken at the middle of fixed buckets (the
view counters are per UTC day; likes, collects and comments use finer buckets), which keeps the SQL
portable between SQLite and PostgreSQL (no power() or date arithmetic in the database): each
bucket's decay factor is computed here and bound as a parameter to one CASE expression. The whole
ranking is one query.

Sources are pluggable: TRENDING_SOURCES lists each event table with its weight and filter.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import case, func, literal, union_all
from sqlmodel import Session, select

from zhongcao.articles.models import Article
from zhongcao.attribution.models import ArticleDailyViews
from zhongcao.clock import utcnow
from zhongcao.social.listings import ArticleCard, card_query, is_public, to_cards
from zhongcao.social.models import ArticleCollect, ArticleLike, Comment

WINDOW = timedelta(days=7)
DECAY_EXPONENT = 1.5
AGE_OFFSET_HOURS = 2.0
VIEW_WEIGHT = 1.0
# Bucket edges in hours for timestamped events: fine while fresh, a day wide once older.
_EDGES_HOURS = (0, 1, 2, 4, 8, 12, 18, 24, 36, 48, 72, 96, 120, 144, 168)
MAX_LIMIT = 100


def decay(age_hours: float) -> float:
    """The weight of one event `age_hours` old."""
    return 1.0 / (max(age_hours, 0.0) + AGE_OFFSET_HOURS) ** DECAY_EXPONENT


@dataclass(frozen=True)
class EventSource:
    """A table of timestamped engagement events on articles: one row is one event."""

    name: str
    weight: float
    article_id: Any
    created_at: Any
    conditions: Callable[[], list] = field(default=lambda: [])


# Collecting (saving for later) signals more intent than liking; a comment is effort too.
TRENDING_SOURCES: tuple[EventSource, ...] = (
    EventSource("likes", 3.0, ArticleLike.article_id, ArticleLike.created_at),
    EventSource("collects", 5.0, ArticleCollect.article_id, ArticleCollect.created_at),
    EventSource(
        "comments", 4.0, Comment.article_id, Comment.created_at,
        lambda: [Comment.is_hidden.is_(False), Comment.deleted_at.is_(None)],
    ),
)


@dataclass(frozen=True)
class TrendingCard:
    card: ArticleCard
    score: float


def trending_articles(session: Session, *, limit: int, now: datetime | None = None,
                      sources: tuple[EventSource, ...] = TRENDING_SOURCES) -> list[ArticleCard]:
    """Public articles with events in the last 7 days, highest decayed score first."""
    return [entry.card for entry in trending_scores(session, limit=limit, now=now, sources=sources)]


def trending_scores(session: Session, *, limit: int, now: datetime | None = None,
                    sources: tuple[EventSource, ...] = TRENDING_SOURCES) -> list[TrendingCard]:
    """Like trending_articles, with each article's score (ties: newest first)."""
    now = now or utcnow()
    parts = [_view_scores(now), *(_event_scores(source, now) for source in sources)]
    events = union_all(*parts).subquery("trending_events")
    scores = (
        select(events.c.article_id, func.sum(events.c.score).label("score"))
        .group_by(events.c.article_id)
        .subquery("trending_scores")
    )
    query = (
        card_query()
        .add_columns(scores.c.score)
        .join(scores, scores.c.article_id == Article.id)
        .where(is_public(), scores.c.score > 0)
        .order_by(scores.c.score.desc(), Article.published_at.desc(), Article.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    rows = session.exec(query).all()
    return [TrendingCard(to_cards([row[:4]])[0], float(row[4])) for row in rows]


def _view_scores(now: datetime):
    """SELECT article_id, views × decay(day) for the daily view counters inside the window."""
    today = now.date()
    first_day = (now - WINDOW).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=timezone.utc)
    factors = []
    day = first_day
    while day <= today:
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        # Today's views happened between midnight and now: on average half that long ago.
        age = (now - midnight) / 2 if day == today else now - (start + timedelta(hours=12))
        factors.append((ArticleDailyViews.day == day, literal(VIEW_WEIGHT * decay(age.total_seconds() / 3600))))
        day += timedelta(days=1)
    factor = case(*factors, else_=literal(0.0))
    return select(
        ArticleDailyViews.article_id.label("article_id"), (ArticleDailyViews.views * factor).label("score")
    ).where(ArticleDailyViews.day >= first_day, ArticleDailyViews.day <= today)


def _event_scores(source: EventSource, now: datetime):
    """SELECT article_id, weight × decay(age bucket) for one event table inside the window."""
    whens = []
    for younger, older in zip(_EDGES_HOURS, _EDGES_HOURS[1:]):
        middle = (younger + older) / 2
        whens.append((source.created_at > now - timedelta(hours=older), literal(source.weight * decay(middle))))
    factor = case(*whens, else_=literal(0.0))
    return select(source.article_id.label("article_id"), factor.label("score")).where(
        source.created_at > now - WINDOW, source.created_at <= now, *source.conditions()
    )
