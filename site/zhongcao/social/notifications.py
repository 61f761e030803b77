"""In-app notifications: a followed creator published, someone replied to your comment, your article
was liked or collected (batched), an admin hid your content; the unread count, the list, marking read.

Likes, collects and hides are batched: while an unread notification for the same thing exists, a new
event bumps its count and latest actor instead of adding a row. A partial unique index (one unread
row per recipient and `group_key`) and INSERT … ON CONFLICT DO UPDATE make that hold under
concurrent clicks on both SQLite and PostgreSQL.

Followers hear about a creator's first publication of an article through a session hook: after any
commit that set an article's `published_at` for the first time, one INSERT … SELECT writes a row
per follower. The hook catches every way an article gets published (editor, importer, CLI) without
the articles domain knowing about notifications, and it runs after the commit, so a failed publish
notifies nobody and a failed notification never undoes a publish.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, event, exists, func, inspect, literal, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.catalog.models import Product, Shop
from zhongcao.clock import utcnow
from zhongcao.db import atomic, new_session
from zhongcao.errors import NotFound
from zhongcao.plainsql import PlainQuery
from zhongcao.social.models import Comment, Follow, Notification

CREATOR_PUBLISHED = "creator_published"
COMMENT_REPLIED = "comment_replied"
ARTICLE_LIKED = "article_liked"
ARTICLE_COLLECTED = "article_collected"
ARTICLE_HIDDEN = "article_hidden"
PRODUCT_HIDDEN = "product_hidden"
COMMENT_HIDDEN = "comment_hidden"
KINDS = (CREATOR_PUBLISHED, COMMENT_REPLIED, ARTICLE_LIKED, ARTICLE_COLLECTED, ARTICLE_HIDDEN, PRODUCT_HIDDEN, COMMENT_HIDDEN)
PER_PAGE = 30

_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
_PENDING_KEY = "zhongcao_first_publications"
_Actor = aliased(User, name="notification_actor")
_ArticleAuthor = aliased(User, name="notified_article_author")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotificationItem:
    """A notification with what its line shows, loaded in the same query."""

    notification: Notification
    actor: User | None
    article: Article | None
    article_author_handle: str | None
    product: Product | None

    @property
    def is_unread(self) -> bool:
        return self.notification.read_at is None

    @property
    def others(self) -> int:
        """How many people besides the latest actor a batched notification stands for."""
        return max(0, self.notification.count - 1)


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationItem]
    page: int
    has_next: bool


def notify_followers_of_publication(session: Session, *, article_id: int, now: datetime | None = None) -> int:
    """Tell every active follower of the article's author that it was published: one INSERT … SELECT.

    Writes nothing for an article that is not public, and never notifies a follower twice about
    the same article. Returns how many notifications were written.
    """
    now = now or utcnow()
    author = aliased(User, name="publishing_author")
    follower = aliased(User, name="notified_follower")
    already = exists().where(
        Notification.recipient_id == Follow.follower_id,
        Notification.kind == CREATOR_PUBLISHED,
        Notification.article_id == article_id,
    )
    when = literal(now, Notification.__table__.c.created_at.type)
    rows = (
        select(
            Follow.follower_id,
            literal(CREATOR_PUBLISHED),
            Article.author_id,
            Article.id,
            literal(1),
            when,
            when,
        )
        .join(Article, Article.author_id == Follow.creator_id)
        .join(author, author.id == Article.author_id)
        .join(follower, follower.id == Follow.follower_id)
        .where(
            Article.id == article_id,
            Article.status == PUBLISHED,
            Article.is_hidden.is_(False),
            author.is_active.is_(True),
            follower.is_active.is_(True),
            ~already,
        )
    )
    columns = ["recipient_id", "kind", "actor_id", "article_id", "count", "created_at", "updated_at"]
    with atomic(session):
        written = session.exec(
            Notification.__table__.insert().from_select(columns, rows).returning(Notification.__table__.c.id)
        ).all()
    return len(written)


def notify_reaction(
    session: Session, *, kind: str, recipient_id: int, actor_id: int, article_id: int, now: datetime | None = None
) -> None:
    """Tell an author that `actor_id` liked or collected their article, batched with unread ones like it."""
    if kind not in (ARTICLE_LIKED, ARTICLE_COLLECTED):
        raise ValueError(kind)
    if recipient_id == actor_id:
        return
    _upsert(session, kind=kind, recipient_id=recipient_id, actor_id=actor_id, article_id=article_id,
            group_key=f"{kind}:{article_id}", now=now)


def notify_reply(session: Session, *, reply: Comment, now: datetime | None = None) -> None:
    """Tell the author of the comment `reply` answered (never oneself) that someone replied."""
    if reply.reply_to_id is None:
        return
    answered = session.get(Comment, reply.reply_to_id)
    if answered is None or answered.author_id == reply.author_id:
        return
    now = now or utcnow()
    with atomic(session):
        session.add(Notification(
            recipient_id=answered.author_id, kind=COMMENT_REPLIED, actor_id=reply.author_id,
            article_id=reply.article_id, comment_id=reply.id, created_at=now, updated_at=now,
        ))


def notify_article_hidden(session: Session, *, article_id: int, admin_id: int | None = None, now: datetime | None = None) -> None:
    """Tell an article's author that an admin hid it. Raises NotFound."""
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound()
    _upsert(session, kind=ARTICLE_HIDDEN, recipient_id=article.author_id, actor_id=admin_id,
            article_id=article.id, group_key=f"{ARTICLE_HIDDEN}:{article.id}", now=now)


def notify_product_hidden(session: Session, *, product_id: int, admin_id: int | None = None, now: datetime | None = None) -> None:
    """Tell a product's shop owner that an admin hid it; nothing when the owner hid it themselves. Raises NotFound."""
    row = session.exec(select(Product, Shop.owner_id).join(Shop, Shop.id == Product.shop_id).where(Product.id == product_id)).first()
    if row is None:
        raise NotFound()
    product, owner_id = row
    if owner_id == admin_id:
        return
    _upsert(session, kind=PRODUCT_HIDDEN, recipient_id=owner_id, actor_id=admin_id, product_id=product.id,
            group_key=f"{PRODUCT_HIDDEN}:{product.id}", now=now)


def notify_comment_hidden(session: Session, *, comment: Comment, admin_id: int | None = None, now: datetime | None = None) -> None:
    """Tell a comment's author that an admin hid it."""
    _upsert(session, kind=COMMENT_HIDDEN, recipient_id=comment.author_id, actor_id=admin_id,
            article_id=comment.article_id, comment_id=comment.id, group_key=f"{COMMENT_HIDDEN}:{comment.id}", now=now)


# The header's unread count, asked after every page a signed-in reader opens: on the driver's cursor.
_UNREAD_COUNT = PlainQuery(
    select(func.count()).select_from(Notification)
    .where(Notification.recipient_id == bindparam("recipient_id"), Notification.read_at.is_(None))
)


def unread_count(session: Session, *, recipient_id: int) -> int:
    return int(_UNREAD_COUNT.scalar(session, recipient_id=recipient_id))


def list_notifications(session: Session, *, recipient_id: int, page: int = 1, per_page: int = PER_PAGE) -> NotificationPage:
    """The recipient's notifications, latest event first, one page of them."""
    page = max(1, min(page, 10_000))
    query = (
        select(Notification, _Actor, Article, _ArticleAuthor.handle, Product)
        .outerjoin(_Actor, _Actor.id == Notification.actor_id)
        .outerjoin(Article, Article.id == Notification.article_id)
        .outerjoin(_ArticleAuthor, _ArticleAuthor.id == Article.author_id)
        .outerjoin(Product, Product.id == Notification.product_id)
        .where(Notification.recipient_id == recipient_id)
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    rows = session.exec(query).all()
    items = [NotificationItem(*row) for row in rows[:per_page]]
    return NotificationPage(items=items, page=page, has_next=len(rows) > per_page)


def mark_read(session: Session, *, recipient_id: int, notification_ids: list[int], now: datetime | None = None) -> int:
    """Mark the recipient's listed notifications read (others' ids are ignored). Returns how many changed."""
    if not notification_ids:
        return 0
    with atomic(session):
        result = session.exec(
            update(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.id.in_(notification_ids), Notification.read_at.is_(None))
            .values(read_at=now or utcnow())
        )
    return result.rowcount or 0


def mark_all_read(session: Session, *, recipient_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the recipient read. Returns how many changed."""
    with atomic(session):
        result = session.exec(
            update(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
            .values(read_at=now or utcnow())
        )
    return result.rowcount or 0


def _upsert(
    session: Session,
    *,
    kind: str,
    recipient_id: int,
    group_key: str,
    actor_id: int | None = None,
    article_id: int | None = None,
    product_id: int | None = None,
    comment_id: int | None = None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    params = dict(recipient_id=recipient_id, kind=kind, actor_id=actor_id, article_id=article_id, product_id=product_id,
                  comment_id=comment_id, group_key=group_key, count=1, created_at=now, updated_at=now)
    with atomic(session):
        session.flush()  # the upsert runs on the connection, after what the session holds
        _upsert_statement(session.get_bind().dialect.name).write(session, **params)


@functools.cache
def _upsert_statement(dialect_name: str):
    """The batching INSERT … ON CONFLICT DO UPDATE for one dialect, built once: building it (its
    `excluded` columns above all) costs several times what running it does."""
    table = Notification.__table__
    statement = _INSERTS[dialect_name](table).values({name: bindparam(name, type_=table.c[name].type) for name in _UPSERT_COLUMNS})
    return PlainQuery(statement.on_conflict_do_update(
        index_elements=["recipient_id", "group_key"],
        index_where=table.c.read_at.is_(None),
        set_={
            "count": table.c.count + 1,
            "actor_id": statement.excluded.actor_id,
            "updated_at": statement.excluded.updated_at,
        },
    ))


_UPSERT_COLUMNS = ("recipient_id", "kind", "actor_id", "article_id", "product_id", "comment_id", "group_key", "count",
                   "created_at", "updated_at")


def _first_publication(article: Article) -> bool:
    """True when this flush gave a published article its first publication time."""
    if article.status != PUBLISHED or article.published_at is None:
        return False
    history = inspect(article).attrs.published_at.history
    return bool(history.added) and not any(value is not None for value in history.deleted)


@event.listens_for(OrmSession, "after_flush")
def _note_first_publications(session: OrmSession, _context) -> None:
    for instance in (*session.new, *session.dirty):
        if isinstance(instance, Article) and _first_publication(instance):
            session.info.setdefault(_PENDING_KEY, {})[instance.id] = instance.published_at


@event.listens_for(OrmSession, "after_rollback")
def _forget_first_publications(session: OrmSession) -> None:
    session.info.pop(_PENDING_KEY, None)


@event.listens_for(OrmSession, "after_commit")
def _notify_after_commit(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the transaction has not committed yet
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    # The committed session cannot run SQL from inside this event: a session of our own does the write.
    bind = session.get_bind()
    for article_id, published_at in pending.items():
        try:
            with new_session(bind) as own:
                notify_followers_of_publication(own, article_id=article_id, now=published_at)
        except Exception:  # a lost notification must not turn a successful publish into an error page
            log.exception("could not notify followers of article %s", article_id)



# Order notifications (issue 4 §4), written by zhongcao.commerce.orders and .refunds after each change.
# The notification table has no order column: the order number travels in `group_key` ("kind:number"),
# which also batches repeated events of one kind on one order while the first is unread.
ORDER_PAID = "order_paid"  # to the merchant: an order is paid and waits to be shipped
ORDER_SHIPPED = "order_shipped"  # to the buyer
ORDER_CANCELLED = "order_cancelled"  # to the buyer, when the merchant cancelled a paid order
REFUND_REQUESTED = "refund_requested"  # to the merchant
REFUND_APPROVED = "refund_approved"  # to the buyer
REFUND_REJECTED = "refund_rejected"  # to the buyer
ORDER_KINDS = (ORDER_PAID, ORDER_SHIPPED, ORDER_CANCELLED, REFUND_REQUESTED, REFUND_APPROVED, REFUND_REJECTED)


def notify_order_change(
    session: Session,
    *,
    kind: str,
    recipient_id: int,
    order_number: str,
    actor_id: int | None = None,
    product_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Tell a buyer or merchant about a change to one of their orders (never about their own action)."""
    if kind not in ORDER_KINDS:
        raise ValueError(kind)
    if recipient_id == actor_id:
        return
    _upsert(session, kind=kind, recipient_id=recipient_id, actor_id=actor_id, product_id=product_id,
            group_key=f"{kind}:{order_number}", now=now)


def order_number_of(notification: Notification) -> str:
    """The order number an order notification is about ("" for other kinds)."""
    if notification.kind not in ORDER_KINDS or not notification.group_key:
        return ""
    return notification.group_key.partition(":")[2]
