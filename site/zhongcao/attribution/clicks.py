"""Clicks on share links, and the signed last-click attribution cookie that commerce turns into commission.

Rules (issue 4 §5): the last click wins within a window (ATTRIBUTION_WINDOW_DAYS, default 7 days),
kept in a signed first-party cookie. A click is *counted* for the sharer's statistics only when it
comes from a human (not a known bot) who is not the sharer and did not click the same link in the
last minute. Every human click except the sharer's own sets the cookie, so a repeat click still
refreshes "last click wins". The sharer's own clicks set nothing: self-referral earns no commission,
and commerce checks buyer ≠ beneficiary again at order time for sharers who were signed out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func
from sqlmodel import Session, select

from zhongcao.attribution.links import Destination, find_destination, find_link, is_well_formed_code
from zhongcao.attribution.models import TARGET_KINDS, ShareClick, ShareLink
from zhongcao.attribution.visitors import is_bot
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import NotFound

ATTRIBUTION_COOKIE = "zc_ref"
DEFAULT_WINDOW_DAYS = 7
REPEAT_WINDOW = timedelta(seconds=60)
# A cookie stamped this far in the future was not made by us at click time (clock skew between workers aside).
_FUTURE_TOLERANCE = timedelta(minutes=5)
_SALT = "zhongcao.attribution.v1"

COUNTED = "counted"
BOT = "bot"
REPEAT = "repeat"
OWN_LINK = "own_link"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Click:
    """What happened on one request for `/s/<code>`: where it leads and whether it counted.

    `reason` is COUNTED, BOT, REPEAT, OWN_LINK or UNAVAILABLE; `sets_cookie` says whether the
    response should carry a fresh attribution cookie.
    """

    link: ShareLink
    destination: Destination
    reason: str

    @property
    def is_counted(self) -> bool:
        return self.reason == COUNTED

    @property
    def sets_cookie(self) -> bool:
        return self.reason in (COUNTED, REPEAT)


@dataclass(frozen=True)
class Attribution:
    """Who gets credit, read back from a valid, unexpired cookie."""

    code: str
    sharer_id: int
    target_kind: str
    target_id: int
    clicked_at: datetime


def record_click(
    session: Session, *, code: str, visitor_hash: str, user_agent: str | None, viewer_id: int | None = None,
    now: datetime | None = None,
) -> Click:
    """Resolve a share code and store the click when it counts (human, not the sharer, not a repeat
    from the same visitor on the same link within REPEAT_WINDOW).

    Raises NotFound for an unknown or malformed code, or a target row that no longer exists.
    """
    now = now or utcnow()
    link = find_link(session, code)
    if link is None:
        raise NotFound()
    destination = find_destination(session, kind=link.target_kind, target_id=link.target_id)
    if destination is None:
        raise NotFound()
    if not destination.is_available:
        return Click(link, destination, UNAVAILABLE)
    if is_bot(user_agent):
        return Click(link, destination, BOT)
    if viewer_id is not None and viewer_id == link.sharer_id:
        return Click(link, destination, OWN_LINK)
    with atomic(session):
        recent = session.exec(
            select(ShareClick.id).where(
                ShareClick.link_id == link.id,
                ShareClick.visitor_hash == visitor_hash,
                ShareClick.clicked_at > now - REPEAT_WINDOW,
            ).limit(1)
        ).first()
        if recent is not None:
            return Click(link, destination, REPEAT)
        session.add(ShareClick(link_id=link.id, visitor_hash=visitor_hash, clicked_at=now))
    return Click(link, destination, COUNTED)


def count_clicks(session: Session, *, link_id: int, since: datetime | None = None) -> int:
    """How many counted clicks a link has had (since `since`, when given)."""
    query = select(func.count(ShareClick.id)).where(ShareClick.link_id == link_id)
    if since is not None:
        query = query.where(ShareClick.clicked_at >= since)
    return session.exec(query).one()


def make_attribution_cookie(link: ShareLink, *, secret: str, now: datetime) -> str:
    """The signed cookie value recording a click on `link` at `now` (last click wins: it replaces any other)."""
    payload = [link.code, link.sharer_id, link.target_kind, link.target_id, int(now.timestamp())]
    return _serializer(secret).dumps(payload)


def read_attribution(cookie_value: str | None, *, secret: str, now: datetime, window_days: int) -> Attribution | None:
    """The sharer and target from a cookie made by make_attribution_cookie, or None when it is missing,
    tampered with, signed with another secret, malformed, or older than `window_days`."""
    if not cookie_value or len(cookie_value) > 512:
        return None
    try:
        payload = _serializer(secret).loads(cookie_value)
    except BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) == 5):
        return None
    code, sharer_id, kind, target_id, stamp = payload
    if not (isinstance(code, str) and is_well_formed_code(code) and kind in TARGET_KINDS):
        return None
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (sharer_id, target_id, stamp)):
        return None
    try:
        clicked_at = datetime.fromtimestamp(stamp, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    if clicked_at > now + _FUTURE_TOLERANCE or now - clicked_at > timedelta(days=window_days):
        return None
    return Attribution(code, sharer_id, kind, target_id, clicked_at)


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)
