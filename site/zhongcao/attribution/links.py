"""Personal share links: one stable, unguessable code per (sharer, article or product).

`/s/<code>` resolves the code to a Destination built from the stored target row at click time; nothing
from the request ever takes part in choosing where the reader goes.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.attribution.models import TARGET_ARTICLE, TARGET_KINDS, TARGET_PRODUCT, ShareLink
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import InvalidInput, NotFound

CODE_BYTES = 6  # token_urlsafe(6) is 8 characters: 48 random bits, never sequential
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,10}", re.ASCII)
_ATTEMPTS = 5


class TargetUnavailable(NotFound):
    """The article or product cannot be shared: missing, unpublished, hidden, or its owner deactivated."""

    code = "share_target_unavailable"


@dataclass(frozen=True)
class Destination:
    """Where a share link leads, as data the web layer turns into a path on this site.

    `handle` and `slug` name an article page (/@handle/slug); `slug` alone a product page.
    `is_available` is False once the target was unpublished, hidden or deleted.
    """

    kind: str
    target_id: int
    title: str
    slug: str
    handle: str | None
    is_available: bool


@dataclass(frozen=True)
class SharedLink:
    link: ShareLink
    destination: Destination


def is_well_formed_code(code: str) -> bool:
    """True when `code` has the shape of one of our codes (so junk never reaches the database)."""
    return bool(CODE_PATTERN.fullmatch(code or ""))


def share_link_for(session: Session, *, sharer_id: int, kind: str, target_id: int, now: datetime | None = None) -> SharedLink:
    """The sharer's personal link to a public article or active product, created on first request.

    The same sharer and target always get the same code. Raises InvalidInput for an unknown kind,
    TargetUnavailable when the target is not public.
    """
    if kind not in TARGET_KINDS:
        raise InvalidInput(field="kind", code="share_kind_invalid")
    destination = find_destination(session, kind=kind, target_id=target_id)
    if destination is None or not destination.is_available:
        raise TargetUnavailable()
    if (link := _find_link(session, sharer_id, kind, target_id)) is not None:
        return SharedLink(link, destination)
    for _ in range(_ATTEMPTS):
        try:
            with atomic(session):
                link = ShareLink(code=secrets.token_urlsafe(CODE_BYTES), sharer_id=sharer_id, target_kind=kind,
                                 target_id=target_id, created_at=now or utcnow())
                session.add(link)
            return SharedLink(link, destination)
        except IntegrityError:
            # Either a concurrent request made this sharer's link first (return it), or the random code
            # collided with another link's (draw again).
            if (link := _find_link(session, sharer_id, kind, target_id)) is not None:
                return SharedLink(link, destination)
    raise RuntimeError("could not draw a free share code")  # 5 collisions in 2**48 codes: something is broken


def find_link(session: Session, code: str) -> ShareLink | None:
    """The link with this exact code, or None (malformed codes never reach the database)."""
    if not is_well_formed_code(code):
        return None
    return session.exec(select(ShareLink).where(ShareLink.code == code)).first()


def find_destination(session: Session, *, kind: str, target_id: int) -> Destination | None:
    """Where a link to (kind, target_id) leads now, or None when the row no longer exists."""
    if kind == TARGET_ARTICLE:
        row = session.exec(
            select(Article, User).join(User, User.id == Article.author_id).where(Article.id == target_id)
        ).first()
        if row is None:
            return None
        article, author = row
        available = article.status == PUBLISHED and not article.is_hidden and author.is_active
        return Destination(TARGET_ARTICLE, article.id, article.title, article.slug, author.handle, available)
    if kind == TARGET_PRODUCT:
        product = session.get(Product, target_id)
        if product is None:
            return None
        return Destination(TARGET_PRODUCT, product.id, product.title, product.slug, None, product.status == PRODUCT_ACTIVE)
    return None


def _find_link(session: Session, sharer_id: int, kind: str, target_id: int) -> ShareLink | None:
    return session.exec(
        select(ShareLink).where(
            ShareLink.sharer_id == sharer_id, ShareLink.target_kind == kind, ShareLink.target_id == target_id
        )
    ).first()
