"""Account operations: sign-up, sign-in checks, sessions ending everywhere, roles and creator applications."""
from __future__ import annotations

import re
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, true
from sqlmodel import Session, select

from zhongcao.accounts import passwords
from zhongcao.accounts.models import CreatorApplication, User
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import Conflict, Forbidden, InvalidInput, NotFound

# Handles appear in URLs (/@handle): ASCII letters, digits, underscore; 3-30 characters, starting with a letter.
HANDLE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,29}$")
RESERVED_HANDLES = frozenset(
    "admin administrator root support help about search api static media uploads settings "
    "signin signup signout login logout register dashboard shop shops products articles feed "
    "sitemap zhongcao official system null undefined".split()
)


def normalise_email(email: str) -> str:
    """Validate the email's syntax (no DNS lookups) and return it lower-cased; raises InvalidInput."""
    try:
        checked = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(field="email", code="email_invalid") from None
    return checked.normalized.lower()


def check_handle(handle: str) -> str:
    """Return the handle as typed (without a leading @) if it is well-formed and not reserved."""
    handle = (handle or "").strip().lstrip("@")
    if not HANDLE_PATTERN.match(handle):
        raise InvalidInput(field="handle", code="handle_invalid")
    if handle.lower() in RESERVED_HANDLES:
        raise InvalidInput(field="handle", code="handle_reserved")
    return handle


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def find_user_by_handle(session: Session, handle: str) -> User | None:
    return session.exec(select(User).where(User.handle_key == handle.strip().lstrip("@").lower())).first()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def get_user_by_handle(session: Session, handle: str) -> User:
    user = find_user_by_handle(session, handle)
    if user is None or not user.is_active:
        raise NotFound()
    return user


def sign_up(
    session: Session, *, email: str, handle: str, password: str, display_name: str = "", now: datetime | None = None
) -> User:
    """Create a reader account. Raises InvalidInput (email, handle, password) or Conflict (taken)."""
    # The cheap checks first, so a malformed form never pays for an argon2 hash.
    email, handle = normalise_email(email), check_handle(handle)
    password = passwords.check_password_rules(password)
    return create_account(
        session,
        email=email,
        handle=handle,
        password_hash=passwords.hash_password(password),
        display_name=display_name,
        now=now,
    )


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user if email and password match an active account, else None (same answer for both failures)."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    user = find_user_by_email(session, email) if email else None
    if user is None or not user.is_active:
        passwords.verify_password(passwords.DUMMY_HASH, password or "")
        return None
    if not passwords.verify_password(user.password_hash, password or ""):
        return None
    if passwords.needs_rehash(user.password_hash):
        with atomic(session):
            user.password_hash = passwords.hash_password(password)
            session.add(user)
    return user


def end_all_sessions(session: Session, *, user_id: int) -> User:
    """Invalidate every copy of every session cookie of this user (sign-out everywhere)."""
    with atomic(session):
        user = get_user(session, user_id)
        user.session_epoch += 1
        session.add(user)
    return user


def change_password(session: Session, *, user_id: int, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one; ends every other session. Raises InvalidInput."""
    new_password = passwords.check_password_rules(new_password, field="new_password")
    with atomic(session):
        user = get_user(session, user_id)
        if not passwords.verify_password(user.password_hash, current_password or ""):
            raise InvalidInput(field="current_password", code="password_wrong")
        user.password_hash = passwords.hash_password(new_password)
        user.session_epoch += 1
        user.updated_at = utcnow()
        session.add(user)
    return user


def update_profile(
    session: Session, *, user_id: int, display_name: str, bio: str, avatar_id: int | None = None
) -> User:
    """Change the public profile. Raises InvalidInput for an empty display name."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise InvalidInput(field="display_name", code="display_name_required")
    with atomic(session):
        user = get_user(session, user_id)
        user.display_name = display_name[:60]
        user.bio = (bio or "").strip()[:1000]
        if avatar_id is not None:
            user.avatar_id = avatar_id
        user.updated_at = utcnow()
        session.add(user)
    return user


def create_admin(session: Session, *, email: str, handle: str, password: str) -> User:
    """Create an administrator, or promote the existing account with this email (its password is kept)."""
    existing = find_user_by_email(session, normalise_email(email))
    if existing is None:
        existing = sign_up(session, email=email, handle=handle, password=password)
    with atomic(session):
        existing.is_admin = True
        session.add(existing)
    return existing


def apply_for_creator(session: Session, *, user_id: int, pitch: str, now: datetime | None = None) -> CreatorApplication:
    """A reader asks to become a creator. Raises InvalidInput (empty pitch) or Conflict (already pending/creator)."""
    pitch = (pitch or "").strip()
    if len(pitch) < 10:
        raise InvalidInput(field="pitch", code="pitch_too_short")
    with atomic(session):
        user = get_user(session, user_id)
        if user.is_creator:
            raise Conflict(code="already_creator")
        if find_pending_application(session, user_id=user_id):
            raise Conflict(code="application_pending")
        application = CreatorApplication(user_id=user_id, pitch=pitch[:2000], created_at=now or utcnow())
        session.add(application)
    return application


def find_pending_application(session: Session, *, user_id: int) -> CreatorApplication | None:
    return session.exec(
        select(CreatorApplication).where(CreatorApplication.user_id == user_id, CreatorApplication.status == "pending")
    ).first()


def decide_application(
    session: Session, *, application_id: int, admin_id: int, approve: bool, now: datetime | None = None
) -> CreatorApplication:
    """An admin approves (the user becomes a creator) or rejects an application. Raises Forbidden, NotFound, Conflict."""
    with atomic(session):
        admin = get_user(session, admin_id)
        if not admin.is_admin:
            raise Forbidden()
        application = session.get(CreatorApplication, application_id)
        if application is None:
            raise NotFound()
        if application.status != "pending":
            raise Conflict(code="application_decided")
        application.status = "approved" if approve else "rejected"
        application.decided_at = now or utcnow()
        application.decided_by_id = admin_id
        if approve:
            user = get_user(session, application.user_id)
            user.is_creator = True
            session.add(user)
        session.add(application)
    return application


def list_pending_applications(session: Session) -> list[tuple[CreatorApplication, User]]:
    rows = session.exec(
        select(CreatorApplication, User)
        .join(User, User.id == CreatorApplication.user_id)
        .where(CreatorApplication.status == "pending")
        .order_by(CreatorApplication.created_at)
    ).all()
    return list(rows)


def list_users(session: Session, *, limit: int = 200, offset: int = 0) -> list[User]:
    return list(session.exec(select(User).order_by(User.id).offset(offset).limit(limit)).all())


def search_users(session: Session, *, query: str = "", page: int = 1, per_page: int = 50) -> tuple[list[User], int]:
    """One page of users whose handle or email contains `query` (any case), oldest first, and the total."""
    query = (query or "").strip().lstrip("@").lower()[:254]
    condition = true()
    if query:
        condition = User.handle_key.contains(query, autoescape=True) | User.email.contains(query, autoescape=True)
    total = session.exec(select(func.count(User.id)).where(condition)).one()
    page = max(1, page)
    users = session.exec(select(User).where(condition).order_by(User.id).offset((page - 1) * per_page).limit(per_page))
    return list(users.all()), total


def count_users(session: Session) -> int:
    return session.exec(select(func.count(User.id))).one()


def change_roles(
    session: Session, *, user_id: int, admin_id: int, is_creator: bool, is_merchant: bool, is_admin: bool
) -> User:
    """An admin sets a user's roles. Raises Forbidden (not an admin), NotFound, InvalidInput (own admin role).

    An admin cannot take away their own admin role, so the site never locks out its last admin by accident.
    """
    with atomic(session):
        admin = get_user(session, admin_id)
        if not admin.is_admin:
            raise Forbidden()
        user = get_user(session, user_id)
        if user.id == admin.id and not is_admin:
            raise InvalidInput(field="is_admin", code="cannot_remove_own_admin")
        user.is_creator, user.is_merchant, user.is_admin = is_creator, is_merchant, is_admin
        user.updated_at = utcnow()
        session.add(user)
    return user


def set_roles(session: Session, *, user_id: int, is_creator: bool, is_merchant: bool, is_admin: bool) -> User:
    """Set a user's roles without an acting admin: for the importer and the console, never for web requests."""
    with atomic(session):
        user = get_user(session, user_id)
        user.is_creator, user.is_merchant, user.is_admin = is_creator, is_merchant, is_admin
        session.add(user)
    return user


def create_account(
    session: Session,
    *,
    email: str,
    handle: str,
    password_hash: str,
    display_name: str = "",
    bio: str = "",
    is_creator: bool = False,
    is_merchant: bool = False,
    is_admin: bool = False,
    now: datetime | None = None,
) -> User:
    """Create an account with its profile and roles from an already hashed password.

    sign_up hashes the reader's password first; the demo-content importer hashes the one published
    demo password once for every account. Raises InvalidInput (email, handle) or Conflict (taken).
    """
    email = normalise_email(email)
    handle = check_handle(handle)
    now = now or utcnow()
    with atomic(session):
        if find_user_by_email(session, email):
            raise Conflict(field="email", code="email_taken")
        if find_user_by_handle(session, handle):
            raise Conflict(field="handle", code="handle_taken")
        user = User(
            email=email,
            handle=handle,
            handle_key=handle.lower(),
            display_name=(display_name or "").strip()[:60] or handle,
            bio=(bio or "").strip()[:1000],
            password_hash=password_hash,
            is_creator=is_creator,
            is_merchant=is_merchant,
            is_admin=is_admin,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
    return user
