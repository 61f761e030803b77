"""Who is signed in: Flask-Login wired to our User rows, with a session epoch so sign-out ends every copy."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import abort, redirect, request, url_for
from flask_login import AnonymousUserMixin, UserMixin, current_user

from zhongcao import db_session
from zhongcao.accounts.models import User
from zhongcao.extensions import login_manager


class SignedInUser(UserMixin):
    """Flask-Login's view of a User row; attribute reads pass through to the row."""

    def __init__(self, user: User) -> None:
        self.row = user

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    def get_id(self) -> str:
        # The epoch travels in the signed session cookie; bumping it in the database revokes the cookie.
        return f"{self.row.id}.{self.row.session_epoch}"

    @property
    def is_active(self) -> bool:
        return bool(self.row.is_active)


class Anonymous(AnonymousUserMixin):
    id = None
    handle = ""
    is_creator = is_merchant = is_admin = False


login_manager.anonymous_user = Anonymous
login_manager.login_view = "accounts.sign_in"
login_manager.login_message = "请先登录 · Please sign in first"
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> SignedInUser | None:
    user_id, _, epoch = session_id.partition(".")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    if user is None or not user.is_active or user.session_epoch != int(epoch):
        return None
    return SignedInUser(user)


def current_user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def role_required(role: str) -> Callable:
    """Require a signed-in user with `role` (creator / merchant / admin): sign in first, else 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
            if not getattr(current_user, f"is_{role}", False):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
