"""Likes, collections, comments and notifications. Every write works with htmx (the fragment it
changed comes back) and as a plain form (303 back to a local `next`)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from htmx_flask import make_response, request
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from zhongcao import db_session
from zhongcao.articles.models import Article
from zhongcao.errors import DomainError
from zhongcao.social import comments, notifications, reactions
from zhongcao.web import messages, page_cache
from zhongcao.web.auth import current_user_id, role_required
from zhongcao.web.security import safe_next

bp = Blueprint("social", __name__)

LIKE_BUTTON = "like-button"
COLLECT_BUTTON = "collect-button"
COMMENT_SECTION = "comment-section"
NOTIFICATION_COUNT = "notification-count"
NOTIFICATION_LIST = "notification-list"
_REACTIONS = {
    "like": (reactions.like_article, LIKE_BUTTON, "social/partials/like_button.html"),
    "unlike": (reactions.unlike_article, LIKE_BUTTON, "social/partials/like_button.html"),
    "collect": (reactions.collect_article, COLLECT_BUTTON, "social/partials/collect_button.html"),
    "uncollect": (reactions.uncollect_article, COLLECT_BUTTON, "social/partials/collect_button.html"),
}


class CommentForm(FlaskForm):
    body = TextAreaField("评论 Comment", validators=[
        DataRequired(messages.text("comment_empty")),
        Length(max=comments.MAX_LENGTH, message=messages.text("comment_too_long")),
    ])
    reply_to_id = HiddenField()
    order = HiddenField()
    page = HiddenField()
    next = HiddenField()


class CommentActionForm(FlaskForm):
    """Delete and report: only the CSRF token and where to go back to."""

    order = HiddenField()
    page = HiddenField()
    next = HiddenField()


@bp.app_template_global("article_reactions")
def article_reactions(article: Article) -> reactions.Reactions:
    """Counts and the signed-in reader's state for the article page's like and collect buttons."""
    return reactions.reactions_for(db_session(), article_id=article.id, viewer_id=current_user_id())


# Readers who have liked and collected alike (and see the same counts) share one rendering of the bar.
page_cache.register_part(
    "social/partials/reaction_bar.html", state=lambda article: {"reactions": article_reactions(article)}
)


@bp.app_template_global("article_comments")
def article_comments(article: Article) -> comments.CommentPage:
    """The first page of the article's comments, newest first, for the article page."""
    return comments.list_comments(db_session(), article_id=article.id, viewer_id=current_user_id())


@bp.post("/articles/<int:article_id>/like")
def like_article(article_id: int):
    return _react(article_id, "like")


@bp.post("/articles/<int:article_id>/unlike")
def unlike_article(article_id: int):
    return _react(article_id, "unlike")


@bp.post("/articles/<int:article_id>/collect")
def collect_article(article_id: int):
    return _react(article_id, "collect")


@bp.post("/articles/<int:article_id>/uncollect")
def uncollect_article(article_id: int):
    return _react(article_id, "uncollect")


def _react(article_id: int, action: str):
    session = db_session()
    article, author = reactions.get_public_article(session, article_id)
    back = safe_next(request.form.get("next"), _article_url(article, author.handle))
    if not current_user.is_authenticated:
        return _sign_in_first(back)
    change, target, template = _REACTIONS[action]
    error = None
    try:
        change(session, user_id=current_user.id, article_id=article.id)
    except DomainError as failure:
        error = messages.describe(failure)
    if request.htmx.target != target:
        if error:
            flash(error, "error")
        return redirect(back, code=303)
    state = reactions.reactions_for(session, article_id=article.id, viewer_id=current_user.id)
    html = render_template(template, article=article, reactions=state, next_path=back, reaction_error=error)
    return (html, 422) if error else make_response(html, trigger="reactions-changed")


@bp.get("/articles/<int:article_id>/comments")
def list_comments(article_id: int):
    page = _comment_page(article_id, request.args.get("order"), request.args.get("page"))
    if request.htmx.target == COMMENT_SECTION and not request.htmx.history_restore_request:
        return render_template("social/partials/comment_section.html", comments=page)
    return render_template("social/comments_page.html", comments=page)


@bp.post("/articles/<int:article_id>/comments")
def post_comment(article_id: int):
    session = db_session()
    article, author = reactions.get_public_article(session, article_id)
    form = CommentForm()
    # Without JavaScript the article page shows no comments (they load on scroll): go to the comments page.
    back = safe_next(form.next.data, url_for("social.list_comments", article_id=article.id))
    if not current_user.is_authenticated:
        return _sign_in_first(back)
    reply_to_id = int(form.reply_to_id.data) if (form.reply_to_id.data or "").isdigit() else None
    error = _first_error(form)
    if not error:
        try:
            comments.post_comment(session, article_id=article.id, author_id=current_user.id,
                                  body_md=form.body.data, reply_to_id=reply_to_id)
        except DomainError as failure:
            error = messages.describe(failure)
    if request.htmx.target != COMMENT_SECTION:
        flash(error or "评论已发布 · Comment posted", "error" if error else "success")
        return redirect(back, code=303)
    # A new top-level comment shows at the top of the newest-first list; a reply stays where it was.
    order, page = (form.order.data, form.page.data) if reply_to_id or error else ("newest", "1")
    context = {"comments": _comment_page(article.id, order, page)}
    if error:
        context["comment_error"] = {"target": f"reply-{reply_to_id}" if reply_to_id else "new", "text": error, "body": form.body.data or ""}
        return render_template("social/partials/comment_section.html", **context), 422
    return make_response(render_template("social/partials/comment_section.html", **context), trigger="comments-changed")


@bp.post("/comments/<int:comment_id>/edit")
def edit_comment(comment_id: int):
    form = CommentForm()
    return _change_comment(comment_id, form, lambda session: comments.edit_comment(
        session, comment_id=comment_id, editor_id=current_user.id, body_md=form.body.data,
    ), done="评论已修改 · Comment updated", error_target=f"edit-{comment_id}")


@bp.post("/comments/<int:comment_id>/delete")
def delete_comment(comment_id: int):
    form = CommentActionForm()
    return _change_comment(comment_id, form, lambda session: comments.delete_comment(
        session, comment_id=comment_id, actor_id=current_user.id,
    ), done="评论已删除 · Comment deleted", error_target=f"comment-{comment_id}")


@bp.post("/comments/<int:comment_id>/report")
def report_comment(comment_id: int):
    form = CommentActionForm()
    return _change_comment(comment_id, form, lambda session: comments.report_comment(
        session, comment_id=comment_id, reporter_id=current_user.id,
    ), done="已举报，管理员会尽快处理 · Reported: an admin will look at it", error_target=f"comment-{comment_id}")


def _change_comment(comment_id: int, form: FlaskForm, change, *, done: str, error_target: str):
    """Edit, delete and report share one shape: sign in first, run `change`, then answer with the
    changed comment (target comment-<id>), the whole section (target comment-section) or a redirect."""
    session = db_session()
    view = comments.get_comment_view(session, comment_id=comment_id, viewer_id=current_user_id())
    article, author = reactions.get_public_article(session, view.comment.article_id)
    # Without JavaScript the article page shows no comments (they load on scroll): go to the comments page.
    back = safe_next(form.next.data, url_for("social.list_comments", article_id=article.id))
    if not current_user.is_authenticated:
        return _sign_in_first(back)
    error = _first_error(form)
    if not error:
        try:
            change(session)
        except DomainError as failure:
            error = messages.describe(failure)
    target = request.htmx.target
    if target not in (COMMENT_SECTION, f"comment-{comment_id}"):
        flash(error or done, "error" if error else "success")
        return redirect(back, code=303)
    order, page = form.order.data, form.page.data
    comment_error = {"target": error_target, "text": error, "body": getattr(form, "body", None) and form.body.data} if error else None
    if target == COMMENT_SECTION:
        html = render_template("social/partials/comment_section.html", comments=_comment_page(article.id, order, page),
                               comment_error=comment_error)
    else:
        view = comments.get_comment_view(session, comment_id=comment_id, viewer_id=current_user.id)
        html = render_template("social/partials/comment.html", view=view, article=article, author=author,
                               order=order, page=page, can_reply=True, comment_error=comment_error)
    return (html, 422) if error else make_response(html, trigger="comments-changed")


@bp.get("/me/collections")
def list_collections():
    if not current_user.is_authenticated:
        return _sign_in_first(request.full_path.rstrip("?"))
    page = reactions.collected_articles(db_session(), user_id=current_user.id, page=request.args.get("page", 1, type=int))
    return render_template("social/collections.html", collection=page)


@bp.get("/me/articles")
@role_required("creator")
def show_article_stats():
    stats = reactions.creator_article_stats(db_session(), creator_id=current_user.id, page=request.args.get("page", 1, type=int))
    return render_template("social/article_stats.html", stats=stats)


@bp.get("/me/notifications")
def list_notifications():
    if not current_user.is_authenticated:
        if request.htmx.target == NOTIFICATION_COUNT:
            return "", 204
        return _sign_in_first(request.full_path.rstrip("?"))
    session = db_session()
    if request.htmx.target == NOTIFICATION_COUNT and not request.htmx.history_restore_request:
        count = notifications.unread_count(session, recipient_id=current_user.id)
        return render_template("social/partials/notification_count.html", unread_count=count)
    page = notifications.list_notifications(session, recipient_id=current_user.id, page=request.args.get("page", 1, type=int))
    # Rendered first, so what was unread still shows as new on this visit.
    template = "social/partials/notification_list.html" if request.htmx.target == NOTIFICATION_LIST else "social/notifications.html"
    html = render_template(template, notifications=page)
    unread = [item.notification.id for item in page.items if item.is_unread]
    if unread:
        notifications.mark_read(session, recipient_id=current_user.id, notification_ids=unread)
        return make_response(html, trigger="notifications-changed")
    return html


@bp.post("/me/notifications/read-all")
def mark_notifications_read():
    if not current_user.is_authenticated:
        return _sign_in_first(url_for("social.list_notifications"))
    form = CommentActionForm()
    if form.validate_on_submit():
        notifications.mark_all_read(db_session(), recipient_id=current_user.id)
    if request.htmx.target != NOTIFICATION_LIST:
        flash("已全部标为已读 · All marked as read", "success")
        return redirect(url_for("social.list_notifications"), code=303)
    page = notifications.list_notifications(db_session(), recipient_id=current_user.id)
    html = render_template("social/partials/notification_list.html", notifications=page)
    return make_response(html, trigger="notifications-changed")


def _comment_page(article_id: int, order: str | None, page: str | int | None) -> comments.CommentPage:
    number = int(page) if str(page or "").isdigit() and len(str(page)) < 7 else 1
    return comments.list_comments(db_session(), article_id=article_id, viewer_id=current_user_id(),
                                  order=order or "newest", page=number)


def _first_error(form: FlaskForm) -> str | None:
    if form.validate_on_submit():
        return None
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return messages.text("invalid_input")


def _sign_in_first(back: str):
    sign_in = url_for("accounts.sign_in", next=back)
    if request.htmx:
        return make_response("", 401, redirect=sign_in)
    return redirect(sign_in, code=303)


def _article_url(article: Article, handle: str) -> str:
    return url_for("articles.show_article", handle=handle, slug=article.slug)
