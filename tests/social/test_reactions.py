"""Likes and collections: idempotent, counted exactly under concurrent clicks, a reader's collections,
and a creator's per-article totals."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.social.factories import BASE_TIME, add_article, add_draft
from zhongcao.db import new_session
from zhongcao.errors import NotFound
from zhongcao.social import comments, notifications, reactions
from zhongcao.social.models import ArticleLike, Notification


def test_liking_twice_keeps_one_like_and_unliking_removes_it(session, make_user):
    article = add_article(session, make_user(is_creator=True))
    reader = make_user()

    first = reactions.like_article(session, user_id=reader.id, article_id=article.id)
    second = reactions.like_article(session, user_id=reader.id, article_id=article.id)

    assert (first.like_count, first.liked) == (1, True)
    assert (second.like_count, second.liked) == (1, True)
    assert len(session.exec(select(ArticleLike)).all()) == 1

    after = reactions.unlike_article(session, user_id=reader.id, article_id=article.id)
    again = reactions.unlike_article(session, user_id=reader.id, article_id=article.id)

    assert (after.like_count, after.liked) == (0, False)
    assert again.like_count == 0


def test_collecting_is_separate_from_liking(session, make_user):
    article = add_article(session, make_user(is_creator=True))
    reader = make_user()

    state = reactions.collect_article(session, user_id=reader.id, article_id=article.id)

    assert (state.collect_count, state.collected) == (1, True)
    assert (state.like_count, state.liked) == (0, False)
    anonymous = reactions.reactions_for(session, article_id=article.id, viewer_id=None)
    assert (anonymous.collect_count, anonymous.collected) == (1, False)


@pytest.mark.parametrize("hidden_how", ["draft", "hidden", "inactive_author"])
def test_articles_readers_cannot_see_cannot_be_liked_or_collected(session, make_user, hidden_how):
    author = make_user(is_creator=True, is_active=hidden_how != "inactive_author")
    article = add_draft(session, author) if hidden_how == "draft" else add_article(session, author, is_hidden=hidden_how == "hidden")
    reader = make_user()

    with pytest.raises(NotFound):
        reactions.like_article(session, user_id=reader.id, article_id=article.id)
    with pytest.raises(NotFound):
        reactions.collect_article(session, user_id=reader.id, article_id=article.id)


def test_concurrent_clicks_from_many_readers_count_each_reader_once(engine, session, make_user):
    author = make_user(is_creator=True)
    article = add_article(session, author)
    readers = [make_user().id for _ in range(6)]

    def click_twice(user_id: int) -> None:
        with new_session(engine) as own:
            for _ in range(2):
                reactions.like_article(own, user_id=user_id, article_id=article.id)
                reactions.collect_article(own, user_id=user_id, article_id=article.id)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(click_twice, readers))

    state = reactions.reactions_for(session, article_id=article.id, viewer_id=None)
    assert (state.like_count, state.collect_count) == (6, 6)
    rows = session.exec(select(Notification).where(Notification.recipient_id == author.id).order_by(Notification.kind)).all()
    assert [(row.kind, row.count) for row in rows] == [("article_collected", 6), ("article_liked", 6)]


def test_collections_list_newest_collected_first_and_skip_articles_no_longer_public(session, make_user):
    author = make_user(is_creator=True)
    older = add_article(session, author, title="先收藏的")
    newer = add_article(session, author, title="后收藏的")
    gone = add_article(session, author, title="后来被隐藏")
    reader = make_user()
    reactions.collect_article(session, user_id=reader.id, article_id=older.id, now=BASE_TIME)
    reactions.collect_article(session, user_id=reader.id, article_id=newer.id, now=BASE_TIME + timedelta(minutes=1))
    reactions.collect_article(session, user_id=reader.id, article_id=gone.id, now=BASE_TIME + timedelta(minutes=2))
    gone.is_hidden = True
    session.add(gone)
    session.commit()

    page = reactions.collected_articles(session, user_id=reader.id)

    assert [card.article.title for card in page.cards] == ["后收藏的", "先收藏的"]
    assert page.has_next is False


def test_collections_are_paginated(session, make_user):
    author = make_user(is_creator=True)
    reader = make_user()
    for minute in range(5):
        article = add_article(session, author, title=f"第{minute}篇")
        reactions.collect_article(session, user_id=reader.id, article_id=article.id, now=BASE_TIME + timedelta(minutes=minute))

    first = reactions.collected_articles(session, user_id=reader.id, page=1, per_page=2)
    last = reactions.collected_articles(session, user_id=reader.id, page=3, per_page=2)

    assert [card.article.title for card in first.cards] == ["第4篇", "第3篇"] and first.has_next
    assert [card.article.title for card in last.cards] == ["第0篇"] and not last.has_next


def test_creator_stats_count_likes_collects_visible_comments_and_views_per_article(session, make_user):
    creator = make_user(is_creator=True)
    popular = add_article(session, creator, minutes=2, title="爆款", view_count=120)
    quiet = add_article(session, creator, minutes=1, title="冷门", view_count=3)
    add_draft(session, creator, title="草稿")
    add_article(session, make_user(is_creator=True), title="别人的")
    readers = [make_user() for _ in range(3)]
    for reader in readers:
        reactions.like_article(session, user_id=reader.id, article_id=popular.id)
    reactions.collect_article(session, user_id=readers[0].id, article_id=popular.id)
    reactions.collect_article(session, user_id=readers[1].id, article_id=quiet.id)
    kept = comments.post_comment(session, article_id=popular.id, author_id=readers[0].id, body_md="好文")
    deleted = comments.post_comment(session, article_id=popular.id, author_id=readers[1].id, body_md="删掉")
    comments.delete_comment(session, comment_id=deleted.id, actor_id=readers[1].id)

    stats = reactions.creator_article_stats(session, creator_id=creator.id)

    assert [(row.article.title, row.likes, row.collects, row.comments, row.views) for row in stats.rows] == [
        ("爆款", 3, 1, 1, 120),
        ("冷门", 0, 1, 0, 3),
    ]
    assert (stats.total_views, stats.total_likes, stats.total_collects, stats.total_comments) == (123, 3, 2, 1)
    assert kept.id is not None


def test_like_notifications_batch_into_one_unread_row_until_read(session, make_user):
    author = make_user(is_creator=True)
    article = add_article(session, author)
    first, second, third = make_user(), make_user(), make_user()

    reactions.like_article(session, user_id=first.id, article_id=article.id)
    reactions.like_article(session, user_id=second.id, article_id=article.id)
    reactions.like_article(session, user_id=author.id, article_id=article.id)  # one's own like tells nobody

    rows = session.exec(select(Notification).where(Notification.recipient_id == author.id)).all()
    assert [(row.kind, row.count, row.actor_id) for row in rows] == [("article_liked", 2, second.id)]

    notifications.mark_all_read(session, recipient_id=author.id)
    reactions.like_article(session, user_id=third.id, article_id=article.id)

    rows = session.exec(select(Notification).where(Notification.recipient_id == author.id).order_by(Notification.id)).all()
    assert [(row.count, row.read_at is None) for row in rows] == [(2, False), (1, True)]
