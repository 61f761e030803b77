"""Sign-up, sign-in, sign-out, profile and password, and the creator application."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, session as cookie_session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from htmx_flask import request

from zhongcao import db_session
from zhongcao.accounts import services as accounts
from zhongcao.errors import DomainError
from zhongcao.extensions import limiter
from zhongcao.web import messages
from zhongcao.web.auth import SignedInUser
from zhongcao.web.forms import CreatorApplicationForm, PasswordChangeForm, ProfileForm, SignInForm, SignUpForm
from zhongcao.web.security import safe_next

bp = Blueprint("accounts", __name__)


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


# Throttles apply to POSTs only: per client address, and per account so a botnet cannot grind one password.
_per_address = limiter.limit("20 per minute;100 per hour", methods=["POST"])
_per_account = limiter.limit("10 per 10 minutes", key_func=_account_key, methods=["POST"])


def attach_error(form, error: DomainError) -> None:
    """Put a domain error's message on the form field it names (or on the form as a whole)."""
    field = getattr(form, getattr(error, "field", None) or "", None)
    target = field.errors if field is not None else form.form_errors
    if isinstance(target, tuple):
        target = list(target)
        field.errors = target
    target.append(messages.describe(error))


def _start_session(user) -> None:
    # A fresh session on sign-in: nothing from the anonymous session (e.g. a planted CSRF token) carries over.
    cookie_session.clear()
    login_user(SignedInUser(user))


@bp.route("/signup", methods=["GET", "POST"])
@_per_address
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("main.show_home"))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(
                db_session(),
                email=form.email.data,
                handle=form.handle.data,
                password=form.password.data,
                display_name=form.display_name.data,
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            _start_session(user)
            flash("欢迎来到种草！ · Welcome to Zhongcao!", "success")
            return redirect(url_for("main.show_home"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/sign_up.html", form=form), status


@bp.route("/signin", methods=["GET", "POST"])
@_per_address
@_per_account
def sign_in():
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(db_session(), email=form.email.data, password=form.password.data)
        if user is not None:
            _start_session(user)
            return redirect(safe_next(form.next.data, url_for("main.show_home")), code=303)
        form.form_errors.append(messages.text("sign_in_failed"))
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/sign_in.html", form=form), status


@bp.post("/signout")
@login_required
def sign_out():
    accounts.end_all_sessions(db_session(), user_id=current_user.id)
    logout_user()
    cookie_session.clear()
    flash("已退出 · Signed out", "info")
    return redirect(url_for("main.show_home"), code=303)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def edit_profile():
    from zhongcao.media.services import store_upload

    form = ProfileForm(obj=current_user.row)
    if form.validate_on_submit():
        try:
            avatar_id = None
            if form.avatar.data:
                avatar_id = store_upload(
                    db_session(),
                    form.avatar.data.stream,
                    data_dir=current_app.config["DATA_DIR"],
                    owner_id=current_user.id,
                    purpose="avatar",
                ).id
            accounts.update_profile(
                db_session(),
                user_id=current_user.id,
                display_name=form.display_name.data,
                bio=form.bio.data,
                avatar_id=avatar_id,
            )
        except DomainError as error:
            attach_error(form, error if getattr(error, "field", None) else _as_avatar_error(error))
        else:
            flash("资料已保存 · Profile saved", "success")
            return redirect(url_for("accounts.edit_profile"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "accounts/settings.html",
        form=form,
        password_form=PasswordChangeForm(formdata=None),
        application_form=CreatorApplicationForm(formdata=None),
        pending=accounts.find_pending_application(db_session(), user_id=current_user.id),
    ), status


def _as_avatar_error(error: DomainError) -> DomainError:
    error.field = "avatar"
    return error


@bp.post("/settings/password")
@login_required
@_per_address
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                db_session(),
                user_id=current_user.id,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            # Every other session is now invalid; this one continues with the new epoch.
            _start_session(user)
            flash("密码已更新，其他设备已退出 · Password changed; other devices were signed out", "success")
            return redirect(url_for("accounts.edit_profile"), code=303)
    return render_template(
        "accounts/settings.html",
        form=ProfileForm(formdata=None, obj=current_user.row),
        password_form=form,
        application_form=CreatorApplicationForm(formdata=None),
        pending=accounts.find_pending_application(db_session(), user_id=current_user.id),
    ), 422


@bp.post("/settings/creator-application")
@login_required
def apply_for_creator():
    form = CreatorApplicationForm()
    if form.validate_on_submit():
        try:
            accounts.apply_for_creator(db_session(), user_id=current_user.id, pitch=form.pitch.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash("申请已提交，请等待审核 · Application sent; an admin will review it", "success")
            return redirect(url_for("accounts.edit_profile"), code=303)
    return render_template(
        "accounts/settings.html",
        form=ProfileForm(formdata=None, obj=current_user.row),
        password_form=PasswordChangeForm(formdata=None),
        application_form=form,
        pending=accounts.find_pending_application(db_session(), user_id=current_user.id),
    ), 422
