"""Comments on articles: one level of replies, Markdown-lite, a 10-minute edit window, deleting,
reporting, the admin moderation queue, and a per-user rate limit.

Markdown-lite: paragraphs, line breaks, emphasis, code, lists, quotes and links. Raw HTML is shown
as text, and headings, images and rules are not parsed; nh3 then cleans the result against a small
allowlist, and links get rel="nofollow ugc noopener" (articles.sanitize's link rules).

The rate limit counts the author's own rows in the database (deleted ones too), so it holds across
gunicorn workers; on PostgreSQL the author's row is locked first, so two posts racing cannot both
slip under the limit (SQLite already serialises writers).
"""
from __future__ import annotations

import html as html_module
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import markdown
import nh3
from markdown.extensions import Extension
from sqlalchemy import exists, func, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles import sanitize
from zhongcao.articles.models import Article
from zhongcao.articles.services import NotAnAdmin
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import DomainError, Forbidden, InvalidInput, NotFound
from zhongcao.media.models import Upload
from zhongcao.social import notifications
from zhongcao.social.models import Comment, CommentReport
from zhongcao.social.reactions import get_public_article

MAX_LENGTH = 2000
EDIT_WINDOW = timedelta(minutes=10)
PER_MINUTE = 5
PER_DAY = 50
PER_PAGE = 20
ORDERS = ("newest", "oldest")
HIDE, KEEP, RESTORE = "hide", "keep", "restore"

_TAGS = {"p", "br", "strong", "em", "b", "i", "del", "s", "code", "pre", "a", "ul", "ol", "li", "blockquote"}
_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
_Avatar = aliased(Upload, name="commenter_avatar")
_ReplyTo = aliased(Comment, name="answered_comment")
_ReplyToAuthor = aliased(User, name="answered_author")


class CommentRateLimited(DomainError):
    """Too many comments in the last minute (code comment_rate_limited_minute) or day (…_day)."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class CommentNotYours(Forbidden):
    code = "comment_not_yours"


class CommentHidden(Forbidden):
    code = "comment_hidden"


@dataclass
class CommentView:
    """One comment as a viewer sees it, with what they may do to it."""

    comment: Comment
    author: User
    avatar_filename: str | None
    reply_to_handle: str | None = None  # set on replies that answered another reply
    can_edit: bool = False
    can_delete: bool = False
    can_report: bool = False
    reported: bool = False
    replies: list[CommentView] = field(default_factory=list)

    @property
    def avatar_url(self) -> str | None:
        return f"/media/{self.avatar_filename}" if self.avatar_filename else None

    @property
    def is_deleted(self) -> bool:
        return self.comment.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.comment.is_hidden


@dataclass(frozen=True)
class CommentPage:
    article: Article
    author: User  # the article's
    threads: list[CommentView]
    total: int  # visible comments, replies included
    page: int
    pages: int
    order: str
    can_comment: bool


@dataclass(frozen=True)
class ReportedComment:
    comment: Comment
    author: User
    article: Article
    article_author_handle: str
    report_count: int
    last_reported_at: datetime


def render(body_md: str) -> str:
    """Markdown-lite to sanitised HTML (see the module docstring)."""
    converter = markdown.Markdown(extensions=["nl2br", "sane_lists", _CommentLite()], output_format="html")
    source = (body_md or "").replace("\r\n", "\n").replace("\r", "\n")
    try:
        converted = converter.convert(source)
    except RecursionError:
        converted = f"<p>{html_module.escape(source)}</p>"
    return nh3.clean(
        converted,
        tags=set(_TAGS),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}},
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=sanitize.LINK_REL,
        url_schemes=set(sanitize.URL_SCHEMES),
    )


def post_comment(
    session: Session,
    *,
    article_id: int,
    author_id: int,
    body_md: str,
    reply_to_id: int | None = None,
    now: datetime | None = None,
) -> Comment:
    """Comment on a public article, or reply to one of its comments (a reply to a reply joins the
    same top-level thread). Tells the answered comment's author.

    Raises InvalidInput (comment_empty, comment_too_long, comment_reply_unavailable),
    CommentRateLimited, or NotFound (article not public, author inactive).
    """
    now = now or utcnow()
    body_md = _checked_body(body_md)
    html = render(body_md)
    with atomic(session):
        article, _ = get_public_article(session, article_id)
        _lock_active_author(session, author_id)
        _check_rate(session, author_id, now)
        parent_id = None
        if reply_to_id is not None:
            answered = session.get(Comment, reply_to_id)
            if answered is None or answered.article_id != article.id or answered.deleted_at or answered.is_hidden:
                raise InvalidInput(field="body", code="comment_reply_unavailable")
            parent_id = answered.parent_id or answered.id
        comment = Comment(article_id=article.id, author_id=author_id, parent_id=parent_id, reply_to_id=reply_to_id,
                          body_md=body_md, body_html=html, created_at=now)
        session.add(comment)
    if reply_to_id is not None:
        notifications.notify_reply(session, reply=comment, now=now)
    return comment


def edit_comment(session: Session, *, comment_id: int, editor_id: int, body_md: str, now: datetime | None = None) -> Comment:
    """Change your own comment within 10 minutes of posting it.

    Raises Forbidden (someone else's, or hidden by an admin: comment_not_yours, comment_hidden),
    InvalidInput (comment_edit_window_closed, comment_empty, comment_too_long), NotFound.
    """
    now = now or utcnow()
    body_md = _checked_body(body_md)
    with atomic(session):
        comment = _live_comment(session, comment_id)
        if comment.author_id != editor_id:
            raise CommentNotYours()
        if comment.is_hidden:
            raise CommentHidden()
        if not is_editable(comment, now=now):
            raise InvalidInput(field="body", code="comment_edit_window_closed")
        comment.body_md = body_md
        comment.body_html = render(body_md)
        comment.edited_at = now
        session.add(comment)
    return comment


def delete_comment(session: Session, *, comment_id: int, actor_id: int, now: datetime | None = None) -> Comment:
    """Delete a comment: its author may, and so may the author of the article it is on.

    Its replies stay, under a "deleted" placeholder. Raises Forbidden (comment_not_yours) or NotFound.
    """
    with atomic(session):
        comment = _live_comment(session, comment_id)
        article = session.get(Article, comment.article_id)
        if actor_id not in (comment.author_id, article.author_id):
            raise CommentNotYours()
        comment.deleted_at = now or utcnow()
        session.add(comment)
    return comment


def report_comment(session: Session, *, comment_id: int, reporter_id: int, now: datetime | None = None) -> bool:
    """Report a comment to the admins, once per reader: True when this report is new.

    Raises InvalidInput (cannot_report_own_comment) or NotFound.
    """
    with atomic(session):
        comment = _live_comment(session, comment_id)
        if comment.author_id == reporter_id:
            raise InvalidInput(code="cannot_report_own_comment")
        reporter = session.get(User, reporter_id)
        if reporter is None or not reporter.is_active:
            raise NotFound()
        insert = _INSERTS[session.get_bind().dialect.name]
        result = session.exec(
            insert(CommentReport)
            .values(comment_id=comment_id, reporter_id=reporter_id, created_at=now or utcnow())
            .on_conflict_do_nothing(index_elements=["comment_id", "reporter_id"])
            .returning(CommentReport.comment_id)
        )
        added = result.first() is not None
    return added


def moderate_comment(
    session: Session, *, comment_id: int, admin_id: int, decision: str, now: datetime | None = None
) -> Comment:
    """An admin's decision on a comment: "hide" it (its author is told), "keep" it (clears its reports
    from the queue) or "restore" a hidden one. Raises NotAnAdmin, InvalidInput, NotFound."""
    if decision not in (HIDE, KEEP, RESTORE):
        raise InvalidInput(code="invalid_input")
    now = now or utcnow()
    with atomic(session):
        admin = session.get(User, admin_id)
        if admin is None or not admin.is_admin or not admin.is_active:
            raise NotAnAdmin()
        comment = _live_comment(session, comment_id)
        newly_hidden = decision == HIDE and not comment.is_hidden
        comment.is_hidden = decision == HIDE or (decision == KEEP and comment.is_hidden)
        comment.moderated_at = now
        session.add(comment)
    if newly_hidden:
        notifications.notify_comment_hidden(session, comment=comment, admin_id=admin_id, now=now)
    return comment


def is_editable(comment: Comment, *, now: datetime) -> bool:
    return comment.deleted_at is None and not comment.is_hidden and now - comment.created_at <= EDIT_WINDOW


def count_visible(session: Session, *, article_id: int) -> int:
    """Comments and replies readers can see on the article (not deleted, not hidden)."""
    return session.exec(
        select(func.count()).select_from(Comment)
        .where(Comment.article_id == article_id, Comment.deleted_at.is_(None), Comment.is_hidden.is_(False))
    ).one()


def list_comments(
    session: Session,
    *,
    article_id: int,
    viewer_id: int | None,
    page: int = 1,
    order: str = "newest",
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> CommentPage:
    """One page of the article's top-level comments (newest or oldest first), each with all its
    replies oldest first, and what `viewer_id` may do with each. Raises NotFound."""
    now = now or utcnow()
    order = order if order in ORDERS else "newest"
    article, author = get_public_article(session, article_id)
    live_reply = aliased(Comment, name="live_reply")
    shown = (
        Comment.article_id == article.id,
        Comment.parent_id.is_(None),
        or_(
            Comment.deleted_at.is_(None),
            exists().where(live_reply.parent_id == Comment.id, live_reply.deleted_at.is_(None)),
        ),
    )
    top_count = session.exec(select(func.count()).select_from(Comment).where(*shown)).one()
    pages = max(1, -(-top_count // per_page))
    page = max(1, min(page, pages))
    direction = Comment.created_at.desc() if order == "newest" else Comment.created_at.asc()
    tie = Comment.id.desc() if order == "newest" else Comment.id.asc()
    rows = session.exec(
        _comment_query().where(*shown).order_by(direction, tie).offset((page - 1) * per_page).limit(per_page)
    ).all()
    threads = [_view(row, article, viewer_id, now) for row in rows]
    if threads:
        replies = session.exec(
            _comment_query()
            .where(Comment.parent_id.in_([view.comment.id for view in threads]), Comment.deleted_at.is_(None))
            .order_by(Comment.created_at, Comment.id)
        ).all()
        by_parent = {view.comment.id: view for view in threads}
        for row in replies:
            reply = _view(row, article, viewer_id, now)
            by_parent[reply.comment.parent_id].replies.append(reply)
    _mark_reported(session, threads, viewer_id)
    viewer = session.get(User, viewer_id) if viewer_id is not None else None
    return CommentPage(
        article=article,
        author=author,
        threads=threads,
        total=count_visible(session, article_id=article.id),
        page=page,
        pages=pages,
        order=order,
        can_comment=bool(viewer and viewer.is_active),
    )


def get_comment_view(session: Session, *, comment_id: int, viewer_id: int | None, now: datetime | None = None) -> CommentView:
    """One comment as `viewer_id` sees it (without its replies). Raises NotFound."""
    row = session.exec(_comment_query().where(Comment.id == comment_id)).first()
    if row is None:
        raise NotFound()
    article, _ = get_public_article(session, row[0].article_id)
    view = _view(row, article, viewer_id, now or utcnow())
    _mark_reported(session, [view], viewer_id)
    return view


def reported_comments(session: Session, *, limit: int = 100) -> list[ReportedComment]:
    """Visible comments with reports newer than the last admin decision, most reported first."""
    reports = (
        select(
            CommentReport.comment_id,
            func.count().label("report_count"),
            func.max(CommentReport.created_at).label("last_reported_at"),
        )
        .join(Comment, Comment.id == CommentReport.comment_id)
        .where(
            Comment.deleted_at.is_(None),
            Comment.is_hidden.is_(False),
            or_(Comment.moderated_at.is_(None), CommentReport.created_at > Comment.moderated_at),
        )
        .group_by(CommentReport.comment_id)
        .subquery("open_reports")
    )
    article_author = aliased(User, name="reported_article_author")
    rows = session.exec(
        select(Comment, User, Article, article_author.handle, reports.c.report_count, reports.c.last_reported_at)
        .join(reports, reports.c.comment_id == Comment.id)
        .join(User, User.id == Comment.author_id)
        .join(Article, Article.id == Comment.article_id)
        .join(article_author, article_author.id == Article.author_id)
        .order_by(reports.c.report_count.desc(), reports.c.last_reported_at.desc(), Comment.id.desc())
        .limit(limit)
    ).all()
    return [ReportedComment(*row) for row in rows]


def count_reported(session: Session) -> int:
    """How many comments wait in the moderation queue."""
    return session.exec(
        select(func.count(func.distinct(CommentReport.comment_id)))
        .join(Comment, Comment.id == CommentReport.comment_id)
        .where(
            Comment.deleted_at.is_(None),
            Comment.is_hidden.is_(False),
            or_(Comment.moderated_at.is_(None), CommentReport.created_at > Comment.moderated_at),
        )
    ).one()


def hidden_comments(session: Session, *, limit: int = 50) -> list[tuple[Comment, User]]:
    """Comments admins hid, most recently decided first (the queue offers to restore them)."""
    return list(session.exec(
        select(Comment, User).join(User, User.id == Comment.author_id)
        .where(Comment.is_hidden.is_(True), Comment.deleted_at.is_(None))
        .order_by(Comment.moderated_at.desc(), Comment.id.desc())
        .limit(limit)
    ).all())


class _CommentLite(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        for name in ("hashheader", "setextheader", "hr"):
            md.parser.blockprocessors.deregister(name)
        for name in ("image_link", "image_reference", "short_image_ref"):
            md.inlinePatterns.deregister(name)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value.strip() if sanitize.is_safe_href(value) else None
    return value


def _checked_body(body_md: str) -> str:
    body_md = (body_md or "").replace("\x00", "").strip()
    if not body_md:
        raise InvalidInput(field="body", code="comment_empty")
    if len(body_md) > MAX_LENGTH:
        raise InvalidInput(field="body", code="comment_too_long")
    return body_md


def _lock_active_author(session: Session, author_id: int) -> User:
    author = session.exec(select(User).where(User.id == author_id).with_for_update()).first()
    if author is None or not author.is_active:
        raise NotFound()
    return author


def _check_rate(session: Session, author_id: int, now: datetime) -> None:
    def since(delta: timedelta) -> int:
        return session.exec(
            select(func.count()).select_from(Comment)
            .where(Comment.author_id == author_id, Comment.created_at > now - delta)
        ).one()

    if since(timedelta(minutes=1)) >= PER_MINUTE:
        raise CommentRateLimited("comment_rate_limited_minute")
    if since(timedelta(days=1)) >= PER_DAY:
        raise CommentRateLimited("comment_rate_limited_day")


def _live_comment(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound()
    return comment


def _comment_query():
    return (
        select(Comment, User, _Avatar.filename, _ReplyToAuthor.handle, _ReplyTo.id)
        .join(User, User.id == Comment.author_id)
        .outerjoin(_Avatar, _Avatar.id == User.avatar_id)
        .outerjoin(_ReplyTo, _ReplyTo.id == Comment.reply_to_id)
        .outerjoin(_ReplyToAuthor, _ReplyToAuthor.id == _ReplyTo.author_id)
    )


def _view(row, article: Article, viewer_id: int | None, now: datetime) -> CommentView:
    comment, author, avatar, reply_to_handle, reply_to_id = row
    live = comment.deleted_at is None
    signed_in = viewer_id is not None
    return CommentView(
        comment=comment,
        author=author,
        avatar_filename=avatar,
        # Answering the thread's first comment needs no "@name": the reply sits right under it.
        reply_to_handle=reply_to_handle if reply_to_id is not None and reply_to_id != comment.parent_id else None,
        can_edit=signed_in and comment.author_id == viewer_id and is_editable(comment, now=now),
        can_delete=live and signed_in and viewer_id in (comment.author_id, article.author_id),
        can_report=live and signed_in and comment.author_id != viewer_id and not comment.is_hidden,
    )


def _mark_reported(session: Session, threads: list[CommentView], viewer_id: int | None) -> None:
    if viewer_id is None or not threads:
        return
    views = {view.comment.id: view for thread in threads for view in (thread, *thread.replies)}
    reported = session.exec(
        select(CommentReport.comment_id).where(CommentReport.reporter_id == viewer_id, CommentReport.comment_id.in_(list(views)))
    ).all()
    for comment_id in reported:
        views[comment_id].reported = True
