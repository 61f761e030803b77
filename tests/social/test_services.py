"""Following creators, follower counts and the following feed."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from tests.social.factories import BASE_TIME, add_article, add_draft
from zhongcao.errors import InvalidInput, NotFound
from zhongcao.social import services as social
from zhongcao.social.listings import Cursor
from zhongcao.social.models import Follow


def test_following_twice_keeps_one_follow(session, make_user):
    creator = make_user(is_creator=True)
    reader = make_user()

    first = social.follow(session, follower_id=reader.id, creator_id=creator.id)
    second = social.follow(session, follower_id=reader.id, creator_id=creator.id, now=BASE_TIME)

    assert (second.follower_id, second.creator_id) == (first.follower_id, first.creator_id)
    assert second.created_at == first.created_at
    assert session.exec(select(func.count()).select_from(Follow)).one() == 1
    assert social.is_following(session, follower_id=reader.id, creator_id=creator.id)


def test_unfollowing_removes_the_follow_and_is_fine_when_not_following(session, make_user):
    creator = make_user(is_creator=True)
    reader = make_user()
    social.follow(session, follower_id=reader.id, creator_id=creator.id)

    social.unfollow(session, follower_id=reader.id, creator_id=creator.id)
    social.unfollow(session, follower_id=reader.id, creator_id=creator.id)

    assert not social.is_following(session, follower_id=reader.id, creator_id=creator.id)
    assert social.follower_count(session, creator.id) == 0


def test_following_yourself_is_refused(session, make_user):
    creator = make_user(is_creator=True)

    with pytest.raises(InvalidInput) as refused:
        social.follow(session, follower_id=creator.id, creator_id=creator.id)

    assert refused.value.code == "cannot_follow_self"
    assert social.follower_count(session, creator.id) == 0


def test_following_a_reader_who_is_not_a_creator_is_refused(session, make_user):
    plain_reader = make_user()
    follower = make_user()

    with pytest.raises(InvalidInput) as refused:
        social.follow(session, follower_id=follower.id, creator_id=plain_reader.id)

    assert refused.value.code == "not_a_creator"
    assert not social.is_following(session, follower_id=follower.id, creator_id=plain_reader.id)


def test_following_a_deactivated_creator_or_as_a_missing_user_is_refused(session, make_user):
    gone = make_user(is_creator=True, is_active=False)
    creator = make_user(is_creator=True)
    reader = make_user()

    with pytest.raises(InvalidInput):
        social.follow(session, follower_id=reader.id, creator_id=gone.id)
    with pytest.raises(NotFound):
        social.follow(session, follower_id=999_999, creator_id=creator.id)


def test_follower_counts_count_distinct_followers_per_creator(session, make_user):
    popular, quiet = make_user(is_creator=True), make_user(is_creator=True)
    readers = [make_user() for _ in range(3)]

    for reader in readers:
        social.follow(session, follower_id=reader.id, creator_id=popular.id)
    social.follow(session, follower_id=readers[0].id, creator_id=quiet.id)
    social.follow(session, follower_id=readers[0].id, creator_id=quiet.id)
    social.unfollow(session, follower_id=readers[1].id, creator_id=popular.id)

    assert social.follower_count(session, popular.id) == 2
    assert social.follower_count(session, quiet.id) == 1
    assert social.following_count(session, readers[0].id) == 2


def test_following_feed_shows_followed_creators_new_articles_only(session, make_user):
    followed, unfollowed, dropped = (make_user(is_creator=True) for _ in range(3))
    reader = make_user()
    for creator in (followed, dropped):
        social.follow(session, follower_id=reader.id, creator_id=creator.id)
    social.unfollow(session, follower_id=reader.id, creator_id=dropped.id)

    older = add_article(session, followed, minutes=1, title="旧笔记")
    newer = add_article(session, followed, minutes=5, title="新笔记")
    add_article(session, unfollowed, minutes=3, title="没关注的达人")
    add_article(session, dropped, minutes=4, title="取关的达人")
    feed = social.following_feed(session, user_id=reader.id, limit=10)

    assert [card.article.id for card in feed] == [newer.id, older.id]
    assert {card.author.id for card in feed} == {followed.id}


def test_following_feed_never_shows_drafts_or_hidden_articles(session, make_user):
    creator = make_user(is_creator=True)
    reader = make_user()
    social.follow(session, follower_id=reader.id, creator_id=creator.id)

    add_draft(session, creator, title="草稿")
    add_article(session, creator, minutes=2, title="被隐藏", is_hidden=True)
    shown = add_article(session, creator, minutes=3, title="公开")
    feed = social.following_feed(session, user_id=reader.id, limit=10)

    assert [card.article.id for card in feed] == [shown.id]


def test_following_feed_continues_after_a_cursor_even_when_times_tie(session, make_user):
    creator = make_user(is_creator=True)
    reader = make_user()
    social.follow(session, follower_id=reader.id, creator_id=creator.id)
    same_time = [add_article(session, creator, minutes=10) for _ in range(3)]
    earliest = add_article(session, creator, minutes=1)

    first_page = social.following_feed(session, user_id=reader.id, limit=2)
    token = first_page[-1].cursor.token()
    second_page = social.following_feed(session, user_id=reader.id, limit=2, before=Cursor.parse(token))

    seen = [card.article.id for card in first_page + second_page]
    assert seen == [article.id for article in sorted(same_time, key=lambda a: -a.id)] + [earliest.id]


def test_following_feed_loads_cards_with_authors_in_one_query(engine, session, make_user):
    reader = make_user()
    for n in range(4):
        creator = make_user(is_creator=True)
        social.follow(session, follower_id=reader.id, creator_id=creator.id)
        add_article(session, creator, minutes=n)
        add_article(session, creator, minutes=n + 10)
    session.expunge_all()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    feed = social.following_feed(session, user_id=reader.id, limit=20)
    names = [(card.author.display_name, card.article.title, card.cover_url) for card in feed]

    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(names) == 8
    assert len(selects) == 1


def test_a_tampered_cursor_is_ignored():
    assert Cursor.parse("not-a-cursor") is None
    assert Cursor.parse("") is None
    assert Cursor.parse("12-") is None
    assert Cursor.parse("9" * 40 + "-1") is None
