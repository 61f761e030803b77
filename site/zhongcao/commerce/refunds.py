"""Refunds per order line, partial by quantity (issue 4 §4): the buyer asks, the merchant (or an admin) decides.

Amounts: a refund of q units is unit price × q; a request for every unit still refundable gets the
rest of what was paid for the line, so refunds never add up to more than the line's paid total
(a CHECK constraint on order_line backs that up). Units already refunded or waiting in an open
request cannot be asked for again.

When: buyers may ask once the order is paid and until the 7-day return window closes (received +
RETURN_WINDOW_DAYS); afterwards requests are refused. A request made inside the window stays
decidable after the order completes: the ledger books that refund as an adjustment to the
confirmed commission.

Approving is one transaction: the request moves requested → refunded with a conditional UPDATE (so
a double click or two admins approve once), the line's refunded quantity and amount grow under
their CHECKs, the units go back to stock, and ledger.record_refund books the money. The order's
status never changes; its timeline gets an event for each request and decision.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.catalog.models import Shop
from zhongcao.clock import utcnow
from zhongcao.commerce.models import Order, OrderLine, RefundRequest
from zhongcao.commerce.orders import (
    REFUND_REFUNDED,
    REFUND_REJECTED,
    REFUND_REQUESTED,
    Announce,
    OrderNotFound,
    notify,
    give_back_stock,
    record_event,
    refunds_allowed,
)
from zhongcao.db import atomic
from zhongcao.errors import Conflict, InvalidInput, NotFound
from zhongcao.social import notifications

REASON_MAX = 500


class RefundNotFound(NotFound):
    code = "refund_not_found"


def request_refund(
    session: Session,
    *,
    order_line_id: int,
    quantity: int,
    buyer_id: int,
    reason: str = "",
    now: datetime | None = None,
    announce: Announce | None = None,
) -> RefundRequest:
    """Ask for a refund of `quantity` units of one line of the buyer's own order.

    Raises OrderNotFound, Conflict (refund_window_closed, refund_not_allowed) or InvalidInput
    (refund_quantity_invalid, refund_reason_too_long).
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise InvalidInput(field="reason", code="refund_reason_too_long")
    with atomic(session):
        # FOR UPDATE serialises two requests for the same line on PostgreSQL; SQLite's BEGIN IMMEDIATE already does.
        line = session.exec(
            select(OrderLine).where(OrderLine.id == order_line_id).with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        order = session.get(Order, line.order_id, populate_existing=True) if line else None
        if order is None or order.buyer_id != buyer_id:
            raise OrderNotFound()
        if not refunds_allowed(order, now=now):
            code = "refund_window_closed" if order.received_at is not None else "refund_not_allowed"
            raise Conflict(code=code)
        pending_quantity, pending_fen = _pending(session, line.id)
        available = line.quantity - line.refunded_quantity - pending_quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= available:
            raise InvalidInput(f"1–{available}" if available > 0 else "0", field="quantity", code="refund_quantity_invalid")
        if quantity == available:
            amount = line.line_total_fen - line.refunded_fen - pending_fen
        else:
            amount = min(line.unit_price_fen * quantity, line.line_total_fen - line.refunded_fen - pending_fen)
        refund = RefundRequest(order_line_id=line.id, quantity=quantity, amount_fen=amount, reason=reason,
                               status=REFUND_REQUESTED, requested_by_id=buyer_id, requested_at=now)
        session.add(refund)
        record_event(session, order=order, from_status=order.status, to_status=order.status, actor_id=buyer_id, now=now,
                     note=f"申请退款 · Refund requested: {line.title} × {quantity}" + (f"（{reason}）" if reason else ""))
    owner_id = session.exec(select(Shop.owner_id).where(Shop.id == order.shop_id)).one()
    notify(session, kind=notifications.REFUND_REQUESTED, order=order, recipient_id=owner_id, actor_id=buyer_id, now=now,
          announce=announce, title=line.title, quantity=quantity, amount_fen=amount, reason=reason)
    return refund


def approve_refund(
    session: Session,
    *,
    refund_id: int,
    actor_id: int,
    now: datetime | None = None,
    announce: Announce | None = None,
) -> RefundRequest:
    """Refund the request: money back through the ledger, units back to stock, exactly once.

    Raises RefundNotFound (also for anyone but the shop's owner or an admin), Conflict
    (refund_already_decided) or InvalidInput (refund_quantity_invalid).
    """
    from zhongcao.ledger import ledger

    now = now or utcnow()
    with atomic(session):
        refund, line, order = _decidable(session, refund_id=refund_id, actor_id=actor_id)
        _decide(session, refund, REFUND_REFUNDED, actor_id=actor_id, now=now)
        grown = session.exec(
            update(OrderLine)
            .where(OrderLine.id == line.id,
                   OrderLine.refunded_quantity + refund.quantity <= OrderLine.quantity,
                   OrderLine.refunded_fen + refund.amount_fen <= OrderLine.line_total_fen)
            .values(refunded_quantity=OrderLine.refunded_quantity + refund.quantity,
                    refunded_fen=OrderLine.refunded_fen + refund.amount_fen)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not grown:
            raise InvalidInput(field="quantity", code="refund_quantity_invalid")
        session.refresh(line)
        give_back_stock(session, product_id=line.product_id, quantity=refund.quantity)
        ledger.record_refund(session, order_line_id=line.id, amount_fen=refund.amount_fen, now=now)
        record_event(session, order=order, from_status=order.status, to_status=order.status, actor_id=actor_id, now=now,
                     note=f"已退款 · Refunded: {line.title} × {refund.quantity}")
    notify(session, kind=notifications.REFUND_APPROVED, order=order, recipient_id=order.buyer_id, actor_id=actor_id,
          now=now, announce=announce, title=line.title, quantity=refund.quantity, amount_fen=refund.amount_fen)
    return refund


def reject_refund(
    session: Session,
    *,
    refund_id: int,
    actor_id: int,
    reason: str = "",
    now: datetime | None = None,
    announce: Announce | None = None,
) -> RefundRequest:
    """Turn a refund request down; the merchant's reason goes on the order's timeline.

    Raises RefundNotFound, Conflict (refund_already_decided) or InvalidInput (refund_reason_too_long).
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise InvalidInput(field="reason", code="refund_reason_too_long")
    with atomic(session):
        refund, line, order = _decidable(session, refund_id=refund_id, actor_id=actor_id)
        _decide(session, refund, REFUND_REJECTED, actor_id=actor_id, now=now)
        record_event(session, order=order, from_status=order.status, to_status=order.status, actor_id=actor_id, now=now,
                     note=f"拒绝退款 · Refund rejected: {line.title} × {refund.quantity}" + (f"（{reason}）" if reason else ""))
    notify(session, kind=notifications.REFUND_REJECTED, order=order, recipient_id=order.buyer_id, actor_id=actor_id,
          now=now, announce=announce, title=line.title, quantity=refund.quantity, amount_fen=refund.amount_fen,
          reason=reason)
    return refund


def find_refund_order_number(session: Session, *, refund_id: int) -> str | None:
    """The number of the order a refund request belongs to, or None."""
    return session.exec(
        select(Order.number).join(OrderLine, OrderLine.order_id == Order.id)
        .join(RefundRequest, RefundRequest.order_line_id == OrderLine.id).where(RefundRequest.id == refund_id)
    ).first()


def _pending(session: Session, order_line_id: int) -> tuple[int, int]:
    quantity, amount = session.exec(
        select(func.coalesce(func.sum(RefundRequest.quantity), 0), func.coalesce(func.sum(RefundRequest.amount_fen), 0))
        .where(RefundRequest.order_line_id == order_line_id, RefundRequest.status == REFUND_REQUESTED)
    ).one()
    return int(quantity), int(amount)


def _decidable(session: Session, *, refund_id: int, actor_id: int) -> tuple[RefundRequest, OrderLine, Order]:
    refund = session.get(RefundRequest, refund_id, populate_existing=True)
    if refund is None:
        raise RefundNotFound()
    line = session.get(OrderLine, refund.order_line_id, populate_existing=True)
    order = session.get(Order, line.order_id, populate_existing=True)
    owner_id = session.exec(select(Shop.owner_id).where(Shop.id == order.shop_id)).one()
    if owner_id != actor_id:
        actor = session.get(User, actor_id)
        if actor is None or not actor.is_admin:
            raise RefundNotFound()
    return refund, line, order


def _decide(session: Session, refund: RefundRequest, status: str, *, actor_id: int, now: datetime) -> None:
    changed = session.exec(
        update(RefundRequest)
        .where(RefundRequest.id == refund.id, RefundRequest.status == REFUND_REQUESTED)
        .values(status=status, decided_by_id=actor_id, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise Conflict(code="refund_already_decided")
    session.refresh(refund)
