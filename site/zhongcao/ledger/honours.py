"""Honours (荣誉): the monthly leaderboard of creators and the badges shown on storefronts.

The leaderboard ranks creators by confirmed, commission-bearing sales: lines whose commission was
confirmed (the return window closed) during the month, in China time, net of refunds. Pending sales
never count, so a burst of orders that is later returned cannot buy a place on the board.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import distinct, func
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.clock import utcnow
from zhongcao.commerce.models import Order, OrderLine
from zhongcao.errors import InvalidInput
from zhongcao.ledger import ledger
from zhongcao.ledger.models import COMMISSION_CONFIRMED, LedgerEntry
from zhongcao.ledger.reports import local_period, local_start, local_today

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
LEADERBOARD_SIZE = 50


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    creator_id: int
    handle: str
    display_name: str
    sales_fen: int
    orders: int
    commission_fen: int


@dataclass(frozen=True)
class Badge:
    code: str
    zh: str
    en: str
    detail: str = ""


def parse_month(text: str) -> date:
    """"2026-11" -> date(2026, 11, 1); raises InvalidInput (month_invalid) for anything else."""
    match = MONTH_PATTERN.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidInput(code="month_invalid", field="month")
    return date(int(match.group(1)), int(match.group(2)), 1)


def current_month(now: datetime | None = None) -> date:
    """The first day of the running month in China time."""
    return local_today(now or utcnow()).replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    """The first day of the month before `month`."""
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def leaderboard(session: Session, *, month: date, limit: int = LEADERBOARD_SIZE) -> list[LeaderRow]:
    """Creators ranked by the sales confirmed in `month` (China time); ties by orders, then by who joined first."""
    sales = func.sum(OrderLine.line_total_fen - OrderLine.refunded_fen)
    orders = func.count(distinct(OrderLine.order_id))
    rows = session.exec(
        select(LedgerEntry.owner_id, User.handle, User.display_name, sales, orders, func.sum(LedgerEntry.amount_fen))
        .join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
        .join(User, User.id == LedgerEntry.owner_id)
        .where(
            LedgerEntry.kind == ledger.KIND_CONFIRM,
            LedgerEntry.account == COMMISSION_CONFIRMED,
            LedgerEntry.created_at >= local_start(month),
            LedgerEntry.created_at < local_start(next_month(month)),
        )
        .group_by(LedgerEntry.owner_id, User.handle, User.display_name)
        .order_by(sales.desc(), orders.desc(), LedgerEntry.owner_id)
        .limit(limit)
    ).all()
    return [
        LeaderRow(rank, owner_id, handle, name, int(total or 0), int(count), int(commission or 0))
        for rank, (owner_id, handle, name, total, count, commission) in enumerate(rows, start=1)
    ]


ORDER_MILESTONES = ((1, "first_sale", "首单", "First sale"), (10, "ten_orders", "十单", "10 orders"), (100, "hundred_orders", "百单", "100 orders"))


def creator_badges(session: Session, *, creator_id: int, now: datetime | None = None) -> list[Badge]:
    """The badges a creator has earned: order milestones (paid orders they led to) and 月度榜首 for
    every finished month they topped the leaderboard. Two queries."""
    now = now or utcnow()
    order_count = session.exec(
        select(func.count(distinct(OrderLine.order_id)))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.beneficiary_id == creator_id, Order.paid_at.is_not(None))
    ).one()
    badges = [Badge(code, zh, en) for threshold, code, zh, en in ORDER_MILESTONES if order_count >= threshold]
    months = top_months(session, creator_id=creator_id, before=current_month(now))
    if months:
        badges.append(Badge("monthly_top", "月度榜首", "Monthly #1", "、".join(m.strftime("%Y-%m") for m in months)))
    return badges


def top_months(session: Session, *, creator_id: int, before: date) -> list[date]:
    """The finished months (before `before`) in which the creator ranked first on the leaderboard."""
    month_of = local_period(session, LedgerEntry.created_at, "month")
    sales = func.sum(OrderLine.line_total_fen - OrderLine.refunded_fen)
    orders = func.count(distinct(OrderLine.order_id))
    best: dict[str, tuple] = {}
    for month, owner_id, total, count in session.exec(
        select(month_of, LedgerEntry.owner_id, sales, orders)
        .join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
        .where(
            LedgerEntry.kind == ledger.KIND_CONFIRM,
            LedgerEntry.account == COMMISSION_CONFIRMED,
            LedgerEntry.created_at < local_start(before),
        )
        .group_by(month_of, LedgerEntry.owner_id)
    ).all():
        key = (-int(total or 0), -int(count), owner_id)  # the leaderboard's own order
        if month not in best or key < best[month]:
            best[month] = key
    return sorted(parse_month(month) for month, key in best.items() if key[2] == creator_id)

