"""Sign-up, sign-in, sign-out, password reset, profile and password, and the creator application."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    session as cookie_session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from htmx_flask import request
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from zhongcao import db_session, mail
from zhongcao.config import is_production
from zhongcao.accounts import reset, services as accounts
from zhongcao.errors import DomainError
from zhongcao.extensions import limiter
from zhongcao.web import messages
from zhongcao.web.auth import SignedInUser
from zhongcao.web.forms import REQUIRED, CreatorApplicationForm, PasswordChangeForm, ProfileForm, SignInForm, SignUpForm
from zhongcao.web.security import safe_next

bp = Blueprint("accounts", __name__)


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


# Throttles apply to POSTs only: per client address, and per account (the email posted) so that many
# addresses together cannot grind one account's password or flood its inbox with reset mail.
_per_address = limiter.limit("20 per minute;100 per hour", methods=["POST"])
_per_account = limiter.limit("10 per 10 minutes", key_func=_account_key, methods=["POST"])
_reset_mail_per_account = limiter.limit("5 per hour", key_func=_account_key, methods=["POST"])


class ForgotPasswordForm(FlaskForm):
    email = StringField("邮箱 Email", validators=[DataRequired(REQUIRED), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        "新密码 New password",
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        description="12–128 个字符，任何文字都可以 · 12–128 characters, any script",
    )


def attach_error(form, error: DomainError) -> None:
    """Put a domain error's message on the form field it names (or on the form as a whole)."""
    field = getattr(form, getattr(error, "field", None) or "", None)
    target = field.errors if field is not None else form.form_errors
    if isinstance(target, tuple):
        target = list(target)
        field.errors = target
    target.append(messages.describe(error))


def _start_session(user) -> None:
    # Issue 4 §1: the anonymous cart (signed zc_cart cookie) moves into the account before the session is replaced.
    from zhongcao.web.commerce import merge_anonymous_cart

    merge_anonymous_cart(user.id)
    # A fresh session on sign-in: nothing from the anonymous session (e.g. a planted CSRF token) carries over.
    cookie_session.clear()
    login_user(SignedInUser(user))


@bp.route("/signup", methods=["GET", "POST"])
@_per_address
@_per_account
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


@bp.route("/password/forgot", methods=["GET", "POST"])
@_per_address
@_reset_mail_per_account
def request_password_reset():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        made = reset.request_password_reset(db_session(), email=form.email.data)
        if made is not None:
            _mail_reset_link(*made)
        # The same answer whether or not the account exists, so this page reveals no accounts.
        return render_template("accounts/password_forgot.html", form=form, sent=True)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/password_forgot.html", form=form, sent=False), status


def _mail_reset_link(user, token: str) -> None:
    site = current_app.config.get("SITE_URL") or ""
    if not site:
        if is_production(current_app.config):
            # Building the link from the request's Host header would let anyone who can post this form
            # mail a victim a link to their own host carrying the victim's token ("reset poisoning").
            current_app.logger.error("ZHONGCAO_SITE_URL is not set, so no password reset mail was sent")
            return
        site = request.host_url
    link = site.rstrip("/") + url_for("accounts.reset_password", token=token)
    body = render_template("accounts/password_reset_mail.txt", user=user, link=link)
    mail.send_mail(current_app, to=user.email, subject="重置你的种草密码 · Reset your Zhongcao password", body=body)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@_per_address
def reset_password(token: str):
    form = ResetPasswordForm()
    if reset.find_reset_user(db_session(), token=token) is None:
        html = render_template(
            "accounts/password_reset.html", form=form, valid=False, invalid_text=messages.text("reset_token_invalid")
        )
        return _private(html, 400)
    if form.validate_on_submit():
        try:
            user = reset.reset_password(db_session(), token=token, new_password=form.new_password.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            _start_session(user)
            flash("密码已重置，其他设备已退出 · Password reset; every other device was signed out", "success")
            return redirect(url_for("main.show_home"), code=303)
    status = 422 if form.is_submitted() else 200
    return _private(render_template("accounts/password_reset.html", form=form, valid=True), status)


def _private(html: str, status: int):
    # The token is in the URL: keep it out of caches and out of any Referer sent from this page.
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


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
