"""Who is signed in: Flask-Login wired to our User rows, with a session epoch so sign-out ends every copy."""
from __future__ import annotations

from functools import wraps
from types import SimpleNamespace
from typing import Any, Callable

from flask import abort, redirect, request, url_for
from flask_login import AnonymousUserMixin, UserMixin, current_user

from zhongcao import db_session
from zhongcao.accounts.models import User
from zhongcao.extensions import login_manager
from zhongcao.plainsql import PlainQuery


class SignedInUser(UserMixin):
    """Flask-Login's view of the signed-in account.

    Requests read only a few of the account's columns (id, handle, roles), so those come from one plain
    SQL row per request; the full ORM row (`.row`, or any other attribute) is loaded on first use only.
    """

    def __init__(self, account: Any) -> None:
        self._account = account  # the SESSION_COLUMNS of user_account, or a User row
        self._row: User | None = account if isinstance(account, User) else None

    @property
    def row(self) -> User:
        if self._row is None:
            self._row = db_session().get(User, self._account.id)
        return self._row

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        # Once the ORM row is loaded it is the truth (a view may have changed it); until then the
        # columns read at sign-in time are.
        if self.__dict__.get("_row") is None and name in SESSION_COLUMNS:
            return getattr(self._account, name)
        return getattr(self.row, name)

    def get_id(self) -> str:
        # The epoch travels in the signed session cookie; bumping it in the database revokes the cookie.
        return f"{self.id}.{self.session_epoch}"

    @property
    def is_active(self) -> bool:
        return bool(self.__getattr__("is_active"))


class Anonymous(AnonymousUserMixin):
    id = None
    handle = ""
    is_creator = is_merchant = is_admin = False


login_manager.anonymous_user = Anonymous
login_manager.login_view = "accounts.sign_in"
login_manager.login_message = "请先登录 · Please sign in first"
login_manager.login_message_category = "info"


SESSION_COLUMNS = ("id", "handle", "handle_key", "display_name", "session_epoch", "is_creator", "is_merchant", "is_admin", "is_active")
# Plain SQL on the driver's cursor: every signed-in request runs it.
_ACCOUNT = PlainQuery(f"SELECT {', '.join(SESSION_COLUMNS)} FROM user_account WHERE id = :user_id")


@login_manager.user_loader
def load_user(session_id: str) -> SignedInUser | None:
    user_id, _, epoch = session_id.partition(".")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    row = _ACCOUNT.first(db_session(), user_id=int(user_id))
    if row is None:
        return None
    # SQLite returns the role flags as 0/1; the rest of the code expects the model's booleans.
    account = SimpleNamespace(**{name: bool(value) if name.startswith("is_") else value for name, value in zip(SESSION_COLUMNS, row)})
    if not account.is_active or account.session_epoch != int(epoch):
        return None
    return SignedInUser(account)


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
