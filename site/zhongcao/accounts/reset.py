"""Password reset: a random single-use token that expires after an hour; only its SHA-256 is stored."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, select

from zhongcao.accounts import passwords
from zhongcao.accounts.models import PasswordResetToken, User
from zhongcao.accounts.services import find_user_by_email, normalise_email
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import InvalidInput

TOKEN_LIFETIME = timedelta(hours=1)


def _digest(token: str) -> str:
    # The token carries 256 random bits, so a plain SHA-256 is enough: there is nothing to guess.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def request_password_reset(session: Session, *, email: str, now: datetime | None = None) -> tuple[User, str] | None:
    """Make a reset token for the active account with this email: (user, token), or None when there is none.

    The caller mails the token and answers the same way either way, so the answer reveals no accounts.
    """
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None
    now = now or utcnow()
    with atomic(session):
        user = find_user_by_email(session, email)
        if user is None or not user.is_active:
            return None
        token = secrets.token_urlsafe(32)
        session.add(
            PasswordResetToken(user_id=user.id, token_hash=_digest(token), created_at=now, expires_at=now + TOKEN_LIFETIME)
        )
    return user, token


def find_reset_user(session: Session, *, token: str, now: datetime | None = None) -> User | None:
    """The user a still-valid (unused, unexpired) token belongs to, or None."""
    row = _find_open_token(session, token, now or utcnow())
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def reset_password(session: Session, *, token: str, new_password: str, now: datetime | None = None) -> User:
    """Set a new password with a reset token, use up every open token of the user, and end all sessions.

    Raises InvalidInput: reset_token_invalid (unknown, used or expired), or the password rules' codes.
    """
    now = now or utcnow()
    new_password = passwords.check_password_rules(new_password, field="new_password")
    with atomic(session):
        row = _find_open_token(session, token, now, for_update=True)
        user = session.get(User, row.user_id) if row is not None else None
        if user is None or not user.is_active:
            raise InvalidInput(code="reset_token_invalid")
        user.password_hash = passwords.hash_password(new_password)
        user.session_epoch += 1
        user.updated_at = now
        session.add(user)
        open_tokens = session.exec(
            select(PasswordResetToken).where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        ).all()
        for open_token in open_tokens:
            open_token.used_at = now
            session.add(open_token)
    return user


def _find_open_token(
    session: Session, token: str, now: datetime, *, for_update: bool = False
) -> PasswordResetToken | None:
    if not token or len(token) > 200:
        return None
    query = select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(token))
    if for_update:
        # Two tabs submitting the same link at once: the second waits here and then sees it used.
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return row
