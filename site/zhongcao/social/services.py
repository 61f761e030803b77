"""Following creators: follow, unfollow, who follows whom, and the feed of followed creators' articles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import Article
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import InvalidInput, NotFound
from zhongcao.plainsql import PlainQuery
from zhongcao.social import listings
from zhongcao.social.listings import ArticleCard, Cursor
from zhongcao.social.models import Follow

_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def follow(session: Session, *, follower_id: int, creator_id: int, now: datetime | None = None) -> Follow:
    """Make `follower_id` follow `creator_id`; following again changes nothing and returns the first follow.

    Raises InvalidInput (cannot_follow_self, not_a_creator) or NotFound (no such active follower).
    """
    if follower_id == creator_id:
        raise InvalidInput(code="cannot_follow_self")
    with atomic(session):
        follower = session.get(User, follower_id)
        if follower is None or not follower.is_active:
            raise NotFound()
        creator = session.get(User, creator_id)
        if creator is None or not creator.is_active or not creator.is_creator:
            raise InvalidInput(code="not_a_creator")
        # ON CONFLICT DO NOTHING: two clicks racing on PostgreSQL must not turn into an IntegrityError.
        insert = _INSERTS[session.get_bind().dialect.name]
        session.exec(
            insert(Follow)
            .values(follower_id=follower_id, creator_id=creator_id, created_at=now or utcnow())
            .on_conflict_do_nothing(index_elements=["follower_id", "creator_id"])
        )
        row = session.get(Follow, (follower_id, creator_id), populate_existing=True)
    return row


def unfollow(session: Session, *, follower_id: int, creator_id: int) -> None:
    """Stop following; fine when `follower_id` was not following `creator_id`."""
    with atomic(session):
        row = session.get(Follow, (follower_id, creator_id))
        if row is not None:
            session.delete(row)


# Plain SQL: the follow button on every signed-in article view asks this.
_IS_FOLLOWING = PlainQuery("SELECT 1 FROM follow WHERE follower_id = :follower_id AND creator_id = :creator_id")


def is_following(session: Session, *, follower_id: int | None, creator_id: int) -> bool:
    if follower_id is None:
        return False
    return _IS_FOLLOWING.first(session, follower_id=follower_id, creator_id=creator_id) is not None


def follower_count(session: Session, creator_id: int) -> int:
    return session.exec(select(func.count()).select_from(Follow).where(Follow.creator_id == creator_id)).one()


def following_count(session: Session, follower_id: int) -> int:
    return session.exec(select(func.count()).select_from(Follow).where(Follow.follower_id == follower_id)).one()


def following_feed(
    session: Session, *, user_id: int, limit: int, before: Cursor | None = None
) -> list[ArticleCard]:
    """Public articles of the creators `user_id` follows, newest first, after `before`.

    One query: each card carries its author and image names, so rendering loads nothing more.
    """
    query = (
        listings.card_query()
        .join(Follow, Follow.creator_id == Article.author_id)
        .where(Follow.follower_id == user_id, listings.is_public())
    )
    return listings.to_cards(session.exec(listings.newest_first(query, before=before, limit=limit)).all())
