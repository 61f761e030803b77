"""Payouts: a creator asks for their confirmed commission; an admin pays it by bank transfer and marks it paid.

A request reserves nothing: it records the confirmed balance at that moment. Marking it paid books
COMMISSION_CONFIRMED → COMMISSION_PAID for exactly the requested amount, with entries referencing the
payout. Refunds after confirmation that land in between can take the confirmed balance below zero;
that debt is netted against the creator's next payout (see ledger.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import Conflict, InvalidInput, NotFound
from zhongcao.ledger import ledger, reports
from zhongcao.ledger.models import COMMISSION_CONFIRMED, COMMISSION_PAID, LedgerEntry, Payout

REQUESTED = "requested"
PAID = "paid"


def request_payout(session: Session, *, creator_id: int, min_fen: int, now: datetime | None = None) -> Payout:
    """Ask for the whole confirmed balance to be paid out.

    Raises Conflict (payout_already_open) while another request is open, and InvalidInput
    (payout_below_minimum) when the confirmed balance is below `min_fen`.
    """
    now = now or utcnow()
    with atomic(session):
        # One open request at a time: the creator's row is the lock two simultaneous requests queue on.
        session.exec(select(User.id).where(User.id == creator_id).with_for_update()).first()
        if find_open_payout(session, creator_id=creator_id) is not None:
            raise Conflict(code="payout_already_open")
        available = ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator_id)
        if available < min_fen:
            raise InvalidInput(code="payout_below_minimum", available_fen=available, min_fen=min_fen)
        payout = Payout(creator_id=creator_id, amount_fen=available, status=REQUESTED, requested_at=now)
        session.add(payout)
        session.flush()
    return payout


def find_open_payout(session: Session, *, creator_id: int) -> Payout | None:
    """The creator's payout request that has not been paid yet, if any."""
    return session.exec(select(Payout).where(Payout.creator_id == creator_id, Payout.status == REQUESTED)).first()


def mark_payout_paid(session: Session, *, payout_id: int, admin_id: int, now: datetime | None = None) -> Payout:
    """Record that the bank transfer was made: book confirmed → paid, referencing the payout.

    Raises NotFound (payout_not_found) or Conflict (payout_already_paid).
    """
    now = now or utcnow()
    with atomic(session):
        payout = session.exec(select(Payout).where(Payout.id == payout_id).with_for_update()).first()
        if payout is None:
            raise _payout_not_found()
        if payout.status == PAID:
            raise Conflict(code="payout_already_paid")
        txn_id = ledger.new_txn_id(ledger.KIND_PAYOUT)
        common = dict(txn_id=txn_id, kind=ledger.KIND_PAYOUT, owner_id=payout.creator_id, payout_id=payout.id, created_at=now)
        ledger.post(
            session,
            [
                LedgerEntry(account=COMMISSION_CONFIRMED, amount_fen=-payout.amount_fen, **common),
                LedgerEntry(account=COMMISSION_PAID, amount_fen=payout.amount_fen, **common),
            ],
        )
        payout.status = PAID
        payout.paid_at = now
        payout.paid_by_id = admin_id
        session.add(payout)
    return payout


def _payout_not_found() -> NotFound:
    error = NotFound("payout")
    error.code = "payout_not_found"
    return error


@dataclass(frozen=True)
class PayoutRow:
    payout: Payout
    handle: str
    display_name: str
    email: str


def list_payouts(session: Session, *, status: str | None = None, creator_id: int | None = None) -> list[PayoutRow]:
    """Payouts with their creators, open requests first, oldest first (the order of the bank run)."""
    query = select(Payout, User.handle, User.display_name, User.email).join(User, User.id == Payout.creator_id)
    if status:
        query = query.where(Payout.status == status)
    if creator_id is not None:
        query = query.where(Payout.creator_id == creator_id)
    query = query.order_by((Payout.status == PAID), Payout.requested_at, Payout.id)
    return [PayoutRow(payout, handle, name, email) for payout, handle, name, email in session.exec(query).all()]


def payouts_csv(rows: list[PayoutRow]) -> str:
    """The bank-run file: one payout per row, amount in yuan as "123.45", times in UTC ISO 8601."""
    return reports.write_csv(
        ["payout_id", "creator_handle", "email", "amount_yuan", "status", "requested_at", "paid_at"],
        [
            [row.payout.id, row.handle, row.email, reports.yuan_text(row.payout.amount_fen), row.payout.status,
             _iso(row.payout.requested_at), _iso(row.payout.paid_at)]
            for row in rows
        ],
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""
