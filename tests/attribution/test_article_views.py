"""Article views from the page's beacon: one per visitor per hour, never bots or the author."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import func, select

from tests.social.factories import add_article, add_draft
from zhongcao.articles.models import Article
from zhongcao.attribution.article_views import VIEW_DEDUP, daily_views, record_article_view
from zhongcao.attribution.models import ArticleViewMark

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def _view(session, article, *, visitor="v1", agent=BROWSER, viewer_id=None, now=NOW) -> bool:
    return record_article_view(session, article_id=article.id, visitor_hash=visitor, user_agent=agent,
                               viewer_id=viewer_id, now=now)


def test_a_visitor_counts_once_per_hour_and_again_after_it(session, make_user):
    article = add_article(session, make_user(is_creator=True))

    counted = [
        _view(session, article, now=NOW),
        _view(session, article, now=NOW + timedelta(minutes=59)),
        _view(session, article, visitor="v2", now=NOW + timedelta(minutes=5)),
        _view(session, article, now=NOW + VIEW_DEDUP + timedelta(seconds=1)),
    ]

    assert counted == [True, False, True, True]
    assert daily_views(session, article_id=article.id) == {date(2025, 6, 1): 3}
    session.expire_all()
    assert session.get(Article, article.id).view_count == 3


def test_views_are_counted_per_utc_day(session, make_user):
    article = add_article(session, make_user(is_creator=True))

    _view(session, article, now=NOW)
    _view(session, article, now=NOW + timedelta(days=1))
    _view(session, article, visitor="v2", now=NOW + timedelta(days=1))

    assert daily_views(session, article_id=article.id) == {date(2025, 6, 1): 1, date(2025, 6, 2): 2}


def test_bots_the_author_and_non_public_articles_are_not_counted(session, make_user):
    author = make_user(is_creator=True)
    article = add_article(session, author)
    hidden = add_article(session, author, is_hidden=True)
    draft = add_draft(session, author)

    counted = [
        _view(session, article, agent="Mozilla/5.0 (compatible; Baiduspider/2.0)"),
        _view(session, article, agent=""),
        _view(session, article, viewer_id=author.id),
        _view(session, hidden),
        _view(session, draft),
    ]

    assert counted == [False] * 5
    assert session.exec(select(func.count()).select_from(ArticleViewMark)).one() == 0
    assert daily_views(session, article_id=article.id) == {}


def test_an_unknown_article_is_ignored(session):
    assert record_article_view(session, article_id=424242, visitor_hash="v", user_agent=BROWSER, now=NOW) is False


def test_old_dedup_marks_are_deleted_as_new_views_arrive(session, make_user):
    article = add_article(session, make_user(is_creator=True))
    for n in range(5):
        _view(session, article, visitor=f"early-{n}", now=NOW)

    _view(session, article, visitor="late", now=NOW + timedelta(hours=2))

    marks = session.exec(select(ArticleViewMark.visitor_hash).where(ArticleViewMark.article_id == article.id)).all()
    assert marks == ["late"]
