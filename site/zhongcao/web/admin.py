"""Admin: dashboard, creator applications, users and roles, hiding articles and products."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from htmx_flask import make_response, request
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from zhongcao import db_session
from zhongcao.accounts import overview, services as accounts
from zhongcao.articles import services as articles
from zhongcao.catalog import services as catalog
from zhongcao.errors import DomainError
from zhongcao.social import comments, notifications
from zhongcao.web import messages
from zhongcao.web.accounts import attach_error
from zhongcao.web.auth import role_required
from zhongcao.web.forms import REQUIRED, DecisionForm, EmptyForm
from zhongcao.web.security import safe_next

bp = Blueprint("admin", __name__, url_prefix="/admin")
USERS_PER_PAGE = 50


@bp.before_request
@role_required("admin")
def _admins_only():
    """Every admin page: anonymous visitors sign in first, everyone else who is not an admin gets 403."""
    return None


class RolesForm(FlaskForm):
    is_creator = BooleanField("达人 Creator")
    is_merchant = BooleanField("商家 Merchant")
    is_admin = BooleanField("管理员 Admin")
    q = HiddenField()
    page = HiddenField()


class HideForm(FlaskForm):
    reference = StringField("编号或链接 Id or link", validators=[DataRequired(REQUIRED), Length(max=2000)])
    action = StringField(validators=[AnyOf(["hide", "unhide"])])  # sent by the button pressed, not rendered as a field
    next = HiddenField()


@bp.get("/")
def show_dashboard():
    session = db_session()
    return render_template(
        "admin/dashboard.html",
        counts=overview.site_counts(session),
        pending=accounts.list_pending_applications(session)[:5],
        reported_comments=comments.count_reported(session),
    )


@bp.get("/applications")
def list_applications():
    return _render_queue("admin/applications.html")


@bp.post("/applications/<int:application_id>")
def decide_application(application_id: int):
    form = DecisionForm()
    error_text = ""
    if form.validate_on_submit() and form.decision.data in ("approve", "reject"):
        try:
            accounts.decide_application(
                db_session(), application_id=application_id, admin_id=current_user.id, approve=form.decision.data == "approve"
            )
        except DomainError as error:
            error_text = messages.describe(error)
    else:
        error_text = messages.text("invalid_input")
    if request.htmx.target != "application-queue":
        flash(error_text or "已处理 · Decided", "error" if error_text else "success")
        return redirect(url_for("admin.list_applications"), code=303)
    html = _render_queue("admin/partials/application_queue.html", error_text=error_text)
    return (html, 422) if error_text else make_response(html, trigger="application-decided")


def _render_queue(template: str, error_text: str = "") -> str:
    rows = accounts.list_pending_applications(db_session())
    return render_template(template, rows=rows, form=EmptyForm(), error_text=error_text)


@bp.get("/users")
def list_users():
    query = request.args.get("q", "").strip()[:254]
    page = max(1, request.args.get("page", 1, type=int))
    context = _user_list_context(query, page)
    if request.htmx.target == "user-list":
        return render_template("admin/partials/user_list.html", **context)
    return render_template("admin/users.html", **context)


@bp.post("/users/<int:user_id>/roles")
def change_roles(user_id: int):
    form = RolesForm()
    error_text = ""
    if form.validate_on_submit():
        try:
            accounts.change_roles(
                db_session(),
                user_id=user_id,
                admin_id=current_user.id,
                is_creator=form.is_creator.data,
                is_merchant=form.is_merchant.data,
                is_admin=form.is_admin.data,
            )
        except DomainError as error:
            error_text = messages.describe(error)
    else:
        error_text = messages.text("invalid_input")
    query = (form.q.data or "").strip()[:254]
    page = int(form.page.data) if (form.page.data or "").isdigit() else 1
    if request.htmx.target != "user-list":
        flash(error_text or "角色已更新 · Roles updated", "error" if error_text else "success")
        return redirect(url_for("admin.list_users", q=query or None, page=page if page > 1 else None), code=303)
    html = render_template("admin/partials/user_list.html", error_text=error_text, **_user_list_context(query, page))
    return (html, 422) if error_text else html


def _user_list_context(query: str, page: int) -> dict:
    users, total = accounts.search_users(db_session(), query=query, page=page, per_page=USERS_PER_PAGE)
    pages = max(1, -(-total // USERS_PER_PAGE))
    return {"users": users, "total": total, "query": query, "page": page, "pages": pages, "form": EmptyForm()}


@bp.get("/content")
def show_content():
    return _render_content("admin/content.html", HideForm(prefix="article"), HideForm(prefix="product"))


@bp.post("/articles/hidden")
def set_article_hidden():
    form = HideForm(prefix="article")

    def apply(session, reference: str, hidden: bool) -> None:
        article_id = overview.find_article_id(session, reference)
        articles.hide_article(session, article_id=article_id, admin_id=current_user.id, hidden=hidden)
        if hidden:
            notifications.notify_article_hidden(session, article_id=article_id, admin_id=current_user.id)

    return _hide_or_show(form, apply, article_form=form, product_form=HideForm(prefix="product", formdata=None))


@bp.post("/products/hidden")
def set_product_hidden():
    form = HideForm(prefix="product")

    def apply(session, reference: str, hidden: bool) -> None:
        product_id = overview.find_product_id(session, reference)
        catalog.set_product_hidden(session, product_id=product_id, actor_id=current_user.id, hidden=hidden)
        if hidden:
            notifications.notify_product_hidden(session, product_id=product_id, admin_id=current_user.id)

    return _hide_or_show(form, apply, article_form=HideForm(prefix="article", formdata=None), product_form=form)


def _hide_or_show(form: HideForm, apply, *, article_form: HideForm, product_form: HideForm):
    """Shared by the article and product forms: run `apply`, then answer with the fragment, a redirect or the page."""
    done = False
    if form.validate_on_submit():
        try:
            apply(db_session(), form.reference.data, form.action.data == "hide")
            done = True
        except DomainError as error:
            error.field = "reference"
            attach_error(form, error)
    status = 200 if done else 422
    if request.htmx.target == "hidden-content":
        return _render_content("admin/partials/hidden_content.html", article_form, product_form, status=status)
    if not done:
        return _render_content("admin/content.html", article_form, product_form, status=status)
    flash("已隐藏 · Hidden" if form.action.data == "hide" else "已恢复显示 · Visible again", "success")
    return redirect(safe_next(form.next.data, url_for("admin.show_content")), code=303)


def _render_content(template: str, article_form: HideForm, product_form: HideForm, status: int = 200):
    session = db_session()
    html = render_template(
        template,
        article_form=article_form,
        product_form=product_form,
        hidden_articles=overview.list_hidden_articles(session),
        hidden_products=overview.list_hidden_products(session),
        form=EmptyForm(),
    )
    return html, status


class ModerationForm(FlaskForm):
    decision = StringField(validators=[AnyOf([comments.HIDE, comments.KEEP, comments.RESTORE])])  # the button pressed


@bp.get("/comments")
def list_reported_comments():
    template = "admin/partials/comment_queue.html" if request.htmx.target == "comment-queue" else "admin/comments.html"
    return _render_comment_queue(template)


@bp.post("/comments/<int:comment_id>/moderation")
def moderate_comment(comment_id: int):
    form = ModerationForm()
    error_text = ""
    if form.validate_on_submit():
        try:
            comments.moderate_comment(db_session(), comment_id=comment_id, admin_id=current_user.id, decision=form.decision.data)
        except DomainError as error:
            error_text = messages.describe(error)
    else:
        error_text = messages.text("invalid_input")
    if request.htmx.target != "comment-queue":
        flash(error_text or "已处理 · Done", "error" if error_text else "success")
        return redirect(url_for("admin.list_reported_comments"), code=303)
    html = _render_comment_queue("admin/partials/comment_queue.html", error_text=error_text)
    return (html, 422) if error_text else html


def _render_comment_queue(template: str, error_text: str = "") -> str:
    session = db_session()
    return render_template(template, reported=comments.reported_comments(session), hidden=comments.hidden_comments(session),
                           form=EmptyForm(), error_text=error_text)
