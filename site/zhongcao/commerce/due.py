"""Time-based order transitions (issue 4 §6): expiry, auto-receive, completion. Run by `zhongcao run-due`
(safe every minute from cron, and concurrently) and applied lazily when an order page is read.

1. Unpaid checkouts past their expiry are cancelled and give their stock back (commerce.checkout).
2. Shipped orders AUTO_RECEIVE_DAYS after shipping count as received at that due time.
3. Received orders whose return window has closed complete, confirming their commissions.

Steps run in this order, so one run takes an order shipped long ago all the way to completed.
Each order moves in its own transaction through the same conditional UPDATEs people use
(orders.move), so a second run, or a run racing another, finds nothing left to do: the same `now`
twice changes nothing the second time, and commissions are confirmed exactly once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from zhongcao.commerce import checkout, orders
from zhongcao.commerce.models import PENDING_PAYMENT, RECEIVED, SHIPPED, Checkout, Order
from zhongcao.config import Defaults
from zhongcao.errors import DomainError

log = logging.getLogger(__name__)


@dataclass
class DueReport:
    """What one run did: checkouts expired, order numbers received and completed, and failures (number, error)."""

    expired_checkouts: int = 0
    received: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.expired_checkouts or self.received or self.completed)

    def lines(self) -> list[str]:
        out = [
            f"expired unpaid checkouts: {self.expired_checkouts}",
            f"auto-received orders: {len(self.received)}" + (f"  {' '.join(self.received)}" if self.received else ""),
            f"completed orders: {len(self.completed)}" + (f"  {' '.join(self.completed)}" if self.completed else ""),
        ]
        out += [f"failed: {number}: {error}" for number, error in self.failed]
        return out


def run_due(
    session: Session,
    *,
    now: datetime,
    auto_receive_days: int | None = None,
    return_window_days: int | None = None,
) -> DueReport:
    """Apply every transition that is due at `now`, across all orders. Idempotent."""
    report = DueReport()
    report.expired_checkouts = checkout.expire_unpaid(session, now=now)
    _apply(session, report, now=now, scope=(), auto_receive_days=auto_receive_days,
           return_window_days=return_window_days)
    return report


def apply_due(
    session: Session,
    *,
    now: datetime,
    order_number: str | None = None,
    buyer_id: int | None = None,
    shop_id: int | None = None,
    auto_receive_days: int | None = None,
    return_window_days: int | None = None,
) -> DueReport:
    """Apply what is due for one order, one buyer's orders or one shop's orders: what pages do before reading them."""
    scope = []
    if order_number is not None:
        scope.append(Order.number == order_number.strip().upper())
    if buyer_id is not None:
        scope.append(Order.buyer_id == buyer_id)
    if shop_id is not None:
        scope.append(Order.shop_id == shop_id)
    report = DueReport()
    stale_checkouts = session.exec(
        select(Checkout.id).join(Order, Order.checkout_id == Checkout.id)
        .where(*scope, Order.status == PENDING_PAYMENT, Checkout.status == PENDING_PAYMENT, Checkout.expires_at <= now)
        .distinct()
    ).all()
    for checkout_id in stale_checkouts:
        report.expired_checkouts += checkout.expire_unpaid(session, now=now, checkout_id=checkout_id)
    _apply(session, report, now=now, scope=tuple(scope), auto_receive_days=auto_receive_days,
           return_window_days=return_window_days)
    return report


def _apply(session: Session, report: DueReport, *, now: datetime, scope: tuple, auto_receive_days: int | None,
           return_window_days: int | None) -> None:
    days = Defaults.AUTO_RECEIVE_DAYS if auto_receive_days is None else auto_receive_days
    shipped = session.exec(
        select(Order.id, Order.number)
        .where(*scope, Order.status == SHIPPED, Order.shipped_at <= now - timedelta(days=days))
        .order_by(Order.shipped_at, Order.id)
    ).all()
    for order_id, number in shipped:
        if _attempt(report, number, orders.receive_automatically, session, order_id=order_id, now=now,
                    auto_receive_days=days, return_window_days=return_window_days):
            report.received.append(number)
    window_closed = session.exec(
        select(Order.id, Order.number)
        .where(*scope, Order.status == RECEIVED, Order.return_window_ends_at <= now)
        .order_by(Order.return_window_ends_at, Order.id)
    ).all()
    for order_id, number in window_closed:
        if _attempt(report, number, orders.complete_order, session, order_id=order_id, now=now):
            report.completed.append(number)


def _attempt(report: DueReport, number: str, move, session: Session, **kwargs) -> bool:
    try:
        move(session, **kwargs)
    except orders.IllegalTransition:
        return False  # someone else (a person or another run) moved it first
    except DomainError as error:
        report.failed.append((number, error.code))
        return False
    except Exception as error:  # one broken order must not stop the others; the operator reads the report
        log.exception("run-due could not move order %s", number)
        report.failed.append((number, type(error).__name__))
        return False
    return True
