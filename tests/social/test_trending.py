"""Trending: recent views, likes, collects and comments, weighted and decayed by age."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.social.factories import add_article
from zhongcao.attribution.models import ArticleDailyViews
from zhongcao.social.models import ArticleCollect, ArticleLike, Comment
from zhongcao.social.trending import decay, trending_articles, trending_scores

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=timezone.utc)


def _titles(cards) -> list[str]:
    return [card.article.title for card in cards]


def _views(session, article, *, days_ago: int, views: int) -> None:
    session.add(ArticleDailyViews(article_id=article.id, day=(NOW - timedelta(days=days_ago)).date(), views=views))
    session.commit()


def _likes(session, make_user, article, *, count: int, at: datetime) -> None:
    for _ in range(count):
        session.add(ArticleLike(user_id=make_user().id, article_id=article.id, created_at=at))
    session.commit()


def _collects(session, make_user, article, *, count: int, at: datetime) -> None:
    for _ in range(count):
        session.add(ArticleCollect(user_id=make_user().id, article_id=article.id, created_at=at))
    session.commit()


def _comment(session, author, article, *, at: datetime, **overrides) -> None:
    session.add(Comment(article_id=article.id, author_id=author.id, body_md="好用", body_html="<p>好用</p>", created_at=at, **overrides))
    session.commit()


def test_recent_interest_outranks_a_bigger_burst_last_week(session, make_user):
    author = make_user(is_creator=True)
    old_hit = add_article(session, author, title="上周爆款")
    fresh = add_article(session, author, title="今天新热")
    _views(session, old_hit, days_ago=6, views=100)
    _views(session, fresh, days_ago=0, views=10)

    cards = trending_articles(session, limit=10, now=NOW)

    assert _titles(cards) == ["今天新热", "上周爆款"]


def test_events_older_than_seven_days_and_non_public_articles_do_not_trend(session, make_user):
    author = make_user(is_creator=True)
    stale = add_article(session, author, title="两周前")
    hidden = add_article(session, author, title="被隐藏", is_hidden=True)
    quiet = add_article(session, author, title="无人问津")
    visible = add_article(session, author, title="正常")
    _views(session, stale, days_ago=8, views=1000)
    _likes(session, make_user, stale, count=3, at=NOW - timedelta(days=7, hours=1))
    _views(session, hidden, days_ago=0, views=1000)
    _views(session, visible, days_ago=1, views=1)

    cards = trending_articles(session, limit=10, now=NOW)

    assert _titles(cards) == ["正常"]
    assert quiet.title not in _titles(cards)


def test_likes_collects_and_comments_count_with_their_weights(session, make_user):
    author = make_user(is_creator=True)
    liked = add_article(session, author, title="被点赞")
    collected = add_article(session, author, title="被收藏")
    discussed = add_article(session, author, title="被评论")
    viewed = add_article(session, author, title="只被看")
    at = NOW - timedelta(minutes=30)
    _likes(session, make_user, liked, count=2, at=at)
    _collects(session, make_user, collected, count=2, at=at)
    for _ in range(2):
        _comment(session, make_user(), discussed, at=at)
    _views(session, viewed, days_ago=0, views=2)

    scores = {entry.card.article.title: entry.score for entry in trending_scores(session, limit=10, now=NOW)}

    # Collect (5) > comment (4) > like (3) > view (1), for the same number of equally fresh events.
    assert scores["被收藏"] > scores["被评论"] > scores["被点赞"] > scores["只被看"] > 0
    assert abs(scores["被点赞"] - 2 * 3 * decay(0.5)) < 1e-6


def test_hidden_and_deleted_comments_do_not_count(session, make_user):
    author = make_user(is_creator=True)
    article = add_article(session, author, title="评论被隐藏")
    _comment(session, make_user(), article, at=NOW - timedelta(hours=1), is_hidden=True)
    _comment(session, make_user(), article, at=NOW - timedelta(hours=1), deleted_at=NOW)

    assert trending_articles(session, limit=10, now=NOW) == []


def test_the_ranking_changes_as_time_passes(session, make_user):
    author = make_user(is_creator=True)
    early = add_article(session, author, title="早火")
    late = add_article(session, author, title="后来居上")
    start = NOW - timedelta(days=3)
    _collects(session, make_user, early, count=30, at=start)
    _likes(session, make_user, late, count=3, at=NOW - timedelta(minutes=20))

    then = trending_articles(session, limit=10, now=start + timedelta(hours=1))
    now = trending_articles(session, limit=10, now=NOW)

    assert _titles(then) == ["早火"]  # the later likes had not happened yet
    assert _titles(now) == ["后来居上", "早火"]


def test_the_limit_is_respected_and_ties_go_to_the_newest(session, make_user):
    author = make_user(is_creator=True)
    articles = [add_article(session, author, minutes=n, title=f"同分 {n}") for n in range(4)]
    for article in articles:
        _views(session, article, days_ago=1, views=5)

    cards = trending_articles(session, limit=3, now=NOW)

    assert _titles(cards) == ["同分 3", "同分 2", "同分 1"]


def test_decay_follows_the_documented_formula():
    assert abs(decay(0) - 1 / 2 ** 1.5) < 1e-12
    assert abs(decay(22) - 1 / 24 ** 1.5) < 1e-12
    assert decay(1) > decay(10) > decay(100)
