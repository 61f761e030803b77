"""Posting to the double-entry ledger, balances, and the audit behind `zhongcao ledger-check`.

Sign convention. Every amount is seen from the platform's books: a debit is negative, a credit is
positive, and the entries of one transaction (`txn_id`) sum to zero.

- BUYER_PAYMENTS (owner: buyer) is the cash side of a payment: −paid when a buyer pays.
- REFUNDS (owner: buyer) is the cash side of a refund: +refund when money goes back to the buyer.
- MERCHANT_PAYABLE (owner: shop id), COMMISSION_PENDING / COMMISSION_CONFIRMED / COMMISSION_PAID
  (owner: creator) and PLATFORM_FEE (no owner) are what the money is owed to: positive = owed.

So a payment of 10000 fen at 10% commission and a 2% fee books −10000 buyer, +8800 merchant,
+1000 pending commission, +200 fee. Confirmation moves pending to confirmed; a payout moves
confirmed to paid; a refund books +refund to REFUNDS and takes the same total back from the
merchant, the commission and the fee (see commission.refund_deltas).

A refund after confirmation books a negative adjustment on COMMISSION_CONFIRMED. If the creator was
paid out in between, their confirmed balance goes negative: that is a debt the creator owes and it is
netted against their next payout (payouts pay only a positive confirmed balance), never clawed back
from a paid payout.

Every function here joins the caller's transaction through `atomic(session)` and never commits on
its own when called inside one: checkout, refunds and run-due call these inside their own writes.
"""
from __future__ import annotations

import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from zhongcao.clock import utcnow
from zhongcao.commerce.models import Checkout, Order, OrderLine
from zhongcao.config import Defaults
from zhongcao.db import atomic
from zhongcao.errors import Conflict, DomainError, InvalidInput, NotFound
from zhongcao.ledger import commission
from zhongcao.ledger.models import (
    BUYER_PAYMENTS,
    COMMISSION_CONFIRMED,
    COMMISSION_PAID,
    COMMISSION_PENDING,
    MERCHANT_PAYABLE,
    PLATFORM_FEE,
    REFUNDS,
    LedgerEntry,
    Payout,
)
from zhongcao.plainsql import plain_insert

KIND_PAYMENT = "payment"
KIND_REFUND = "refund"
KIND_CONFIRM = "commission_confirm"
KIND_ADJUST = "commission_adjust"
KIND_PAYOUT = "payout"
COMMISSION_ACCOUNTS = (COMMISSION_PENDING, COMMISSION_CONFIRMED)

# The platform fee of each app's engine (set when the earnings blueprint is registered), so domain
# callers such as mark_checkout_paid need not pass it; absent that, the default from config.py.
_fee_by_engine: "weakref.WeakKeyDictionary[object, int]" = weakref.WeakKeyDictionary()


class UnbalancedTransaction(DomainError):
    code = "ledger_unbalanced"


def configure(engine: object, *, platform_fee_bp: int) -> None:
    """Remember the platform fee for sessions bound to `engine` (called once per app)."""
    _fee_by_engine[engine] = int(platform_fee_bp)


def platform_fee_bp(session: Session) -> int:
    """The platform fee in basis points that applies to payments booked through this session."""
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    return _fee_by_engine.get(engine, Defaults.PLATFORM_FEE_BP)


def new_txn_id(kind: str) -> str:
    """A fresh transaction id, prefixed with its kind so the ledger reads well: "payment-3f2a…"."""
    return f"{kind[:12]}-{uuid.uuid4().hex[:24]}"


_ENTRY_COLUMNS = tuple(column.key for column in LedgerEntry.__table__.columns if column.key != "id")
_ENTRY_DEFAULTS = {"owner_id": None, "order_id": None, "order_line_id": None, "payout_id": None, "rate_bp": None, "memo": ""}
_INSERT_ENTRIES = plain_insert(LedgerEntry.__table__, _ENTRY_COLUMNS)


def post(session: Session, entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Write the entries of one transaction; raises UnbalancedTransaction unless they share one txn_id
    and sum to zero. Zero-amount entries are dropped (they move nothing). The entries returned are
    not added to the session (see _write)."""
    entries = [entry for entry in entries if entry.amount_fen != 0]
    _write(session, [{name: getattr(entry, name) for name in _ENTRY_COLUMNS} for entry in entries])
    return entries


def _entry(**values: object) -> dict:
    """One ledger row as _write takes it: every column, the optional ones defaulted."""
    return {**_ENTRY_DEFAULTS, **values}


def _write(session: Session, rows: list[dict]) -> None:
    """Write one transaction's rows in a single executemany INSERT. Raises UnbalancedTransaction.

    Entries are immutable rows, so they skip the session's unit of work, which costs several times
    the INSERT itself and writes one statement per distinct set of non-NULL columns.
    """
    rows = [row for row in rows if row["amount_fen"] != 0]
    if not rows:
        return
    txn_ids = {row["txn_id"] for row in rows}
    total = sum(row["amount_fen"] for row in rows)
    if len(txn_ids) != 1 or total != 0:
        raise UnbalancedTransaction(f"txn {sorted(txn_ids)} sums to {total}")
    with atomic(session):
        session.flush()  # the orders, lines and payouts the entries point at are written first
        _INSERT_ENTRIES.write_many(session, rows)


def balance(session: Session, *, account: str, owner_id: int | None = None) -> int:
    """The sum of an account's entries (for one owner when `owner_id` is given); positive = owed."""
    query = select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.account == account)
    if owner_id is not None:
        query = query.where(LedgerEntry.owner_id == owner_id)
    return int(session.exec(query).one())


@dataclass(frozen=True)
class PaidLine:
    """One order line whose payment is booked, with what the booking needs from its order."""

    order_id: int
    order_number: str
    buyer_id: int
    shop_id: int
    line_id: int
    line_total_fen: int
    commission_bp: int
    beneficiary_id: int | None
    is_booked: bool  # the order's payment is in the ledger already


PAID_LINE_COLUMNS = (
    Order.id.label("order_id"), Order.number.label("order_number"), Order.buyer_id, Order.shop_id,
    OrderLine.id.label("line_id"), OrderLine.line_total_fen, OrderLine.commission_bp, OrderLine.beneficiary_id,
    select(LedgerEntry.id).where(LedgerEntry.order_id == Order.id, LedgerEntry.kind == KIND_PAYMENT).exists().label("is_booked"),
)
_CHECKOUT_LINES = (
    select(*PAID_LINE_COLUMNS)
    .join(OrderLine, OrderLine.order_id == Order.id)
    .where(Order.checkout_id == bindparam("checkout_id"))
    .order_by(Order.id, OrderLine.id)
    .with_for_update(of=Order)
)


def record_payment(
    session: Session,
    *,
    checkout_id: int,
    now: datetime | None = None,
    fee_bp: int | None = None,
    lines: Sequence[PaidLine] | None = None,
) -> list[str]:
    """Book the payment of a checkout: one transaction per order, entries per line (buyer payment,
    merchant payable, pending commission, platform fee). Orders already booked are skipped, so a
    repeated call books nothing. Returns the new txn ids. Raises NotFound for an unknown checkout.

    `lines` is for a caller that has just claimed the checkout in this transaction and read its
    orders' lines (PAID_LINE_COLUMNS, by order and line id, in that transaction): they are not read again.
    """
    now = now or utcnow()
    fee_bp = platform_fee_bp(session) if fee_bp is None else fee_bp
    txn_ids: list[str] = []
    with atomic(session):
        if lines is None:
            if session.get(Checkout, checkout_id) is None:
                raise NotFound("checkout", checkout_id=checkout_id)
            session.flush()  # plain statements below read what the session holds
            rows = session.connection().execute(_CHECKOUT_LINES, {"checkout_id": checkout_id})
            lines = [PaidLine(**row._mapping) for row in rows]
        by_order: dict[int, list[PaidLine]] = {}
        for line in lines:
            if not line.is_booked:
                by_order.setdefault(line.order_id, []).append(line)
        for order_lines in by_order.values():
            txn_id = new_txn_id(KIND_PAYMENT)
            _write(session, [row for line in order_lines for row in _payment_rows(txn_id, line, fee_bp=fee_bp, now=now)])
            txn_ids.append(txn_id)
    return txn_ids


def _payment_rows(txn_id: str, line: PaidLine, *, fee_bp: int, now: datetime) -> list[dict]:
    split = commission.split_line(
        line.line_total_fen, commission_bp=line.commission_bp, fee_bp=fee_bp, has_beneficiary=line.beneficiary_id is not None
    )
    common = dict(txn_id=txn_id, kind=KIND_PAYMENT, order_id=line.order_id, order_line_id=line.line_id, created_at=now)
    return [
        _entry(account=BUYER_PAYMENTS, owner_id=line.buyer_id, amount_fen=-split.paid_fen, memo=f"order {line.order_number}",
               **common),
        _entry(account=MERCHANT_PAYABLE, owner_id=line.shop_id, amount_fen=split.merchant_fen, **common),
        _entry(account=COMMISSION_PENDING, owner_id=line.beneficiary_id, amount_fen=split.commission_fen,
               rate_bp=line.commission_bp, **common),
        _entry(account=PLATFORM_FEE, amount_fen=split.fee_fen, rate_bp=fee_bp, **common),
    ]


def confirm_order_commissions(session: Session, *, order_id: int, now: datetime | None = None) -> str | None:
    """Move each line's remaining pending commission to confirmed (the return window has closed).

    Idempotent: once nothing is pending, it books nothing and returns None; otherwise the txn id.
    Raises NotFound for an unknown order.
    """
    now = now or utcnow()
    with atomic(session):
        order = _lock_order(session, order_id)
        pending = session.exec(
            select(LedgerEntry.order_line_id, LedgerEntry.owner_id, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.order_id == order.id, LedgerEntry.account == COMMISSION_PENDING)
            .group_by(LedgerEntry.order_line_id, LedgerEntry.owner_id)
            .order_by(LedgerEntry.order_line_id)
        ).all()
        txn_id = new_txn_id(KIND_CONFIRM)
        entries: list[LedgerEntry] = []
        for line_id, owner_id, amount in pending:
            if amount and amount > 0:
                common = dict(txn_id=txn_id, kind=KIND_CONFIRM, order_id=order.id, order_line_id=line_id, owner_id=owner_id, created_at=now)
                entries.append(LedgerEntry(account=COMMISSION_PENDING, amount_fen=-amount, **common))
                entries.append(LedgerEntry(account=COMMISSION_CONFIRMED, amount_fen=amount, **common))
        if not entries:
            return None
        post(session, entries)
    return txn_id


def record_refund(session: Session, *, order_line_id: int, amount_fen: int, now: datetime | None = None) -> str:
    """Book a refund of `amount_fen` for one order line: the buyer gets it back, and the merchant
    payable, the commission and the fee each give back their share, recomputed on what remains paid.

    Before confirmation the commission comes off COMMISSION_PENDING; after it, a negative
    adjustment is booked on COMMISSION_CONFIRMED. Earlier refunds of the line are read from the
    ledger, so it does not matter whether the caller updated OrderLine.refunded_fen before or after.
    Raises NotFound, InvalidInput (refund_amount_invalid, refund_exceeds_paid) or Conflict (refund_unpaid).
    """
    now = now or utcnow()
    if amount_fen <= 0:
        raise InvalidInput("refund amount must be positive", code="refund_amount_invalid", field="amount_fen")
    with atomic(session):
        line = session.get(OrderLine, order_line_id)
        if line is None:
            raise NotFound("order line", order_line_id=order_line_id)
        order = _lock_order(session, line.order_id)
        booked = _line_balances(session, order_line_id)
        if -booked[BUYER_PAYMENTS] != line.line_total_fen:
            raise Conflict("the line's payment is not booked", code="refund_unpaid")
        refunded_before = booked[REFUNDS]
        if refunded_before + amount_fen > line.line_total_fen:
            raise InvalidInput(
                f"{refunded_before} + {amount_fen} > {line.line_total_fen}", code="refund_exceeds_paid", field="amount_fen"
            )
        deltas = commission.refund_deltas(
            line.line_total_fen,
            refunded_before_fen=refunded_before,
            refund_fen=amount_fen,
            commission_bp=line.commission_bp,
            fee_bp=_booked_fee_bp(session, order_line_id),
            has_beneficiary=line.beneficiary_id is not None,
        )
        from_pending = min(deltas.commission_fen, max(booked[COMMISSION_PENDING], 0))
        from_confirmed = deltas.commission_fen - from_pending
        txn_id = new_txn_id(KIND_REFUND)
        common = dict(txn_id=txn_id, order_id=order.id, order_line_id=line.id, created_at=now)
        post(
            session,
            [
                LedgerEntry(
                    account=REFUNDS, owner_id=order.buyer_id, amount_fen=amount_fen, kind=KIND_REFUND,
                    memo=f"order {order.number}", **common,
                ),
                LedgerEntry(account=MERCHANT_PAYABLE, owner_id=order.shop_id, amount_fen=-deltas.merchant_fen, kind=KIND_REFUND, **common),
                LedgerEntry(account=COMMISSION_PENDING, owner_id=line.beneficiary_id, amount_fen=-from_pending, kind=KIND_REFUND, **common),
                LedgerEntry(
                    account=COMMISSION_CONFIRMED, owner_id=line.beneficiary_id, amount_fen=-from_confirmed, kind=KIND_ADJUST, **common
                ),
                LedgerEntry(account=PLATFORM_FEE, amount_fen=-deltas.fee_fen, kind=KIND_REFUND, **common),
            ],
        )
    return txn_id


def _lock_order(session: Session, order_id: int) -> Order:
    # Serialises confirmation and refunds of one order on PostgreSQL (SQLite's BEGIN IMMEDIATE
    # already serialises every writer), so two concurrent run-due passes cannot both confirm.
    order = session.exec(select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None:
        raise NotFound("order", order_id=order_id)
    return order


def _line_balances(session: Session, order_line_id: int) -> defaultdict[str, int]:
    rows = session.exec(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.order_line_id == order_line_id)
        .group_by(LedgerEntry.account)
    ).all()
    balances: defaultdict[str, int] = defaultdict(int)
    for account, amount in rows:
        balances[account] = int(amount or 0)
    return balances


def _booked_fee_bp(session: Session, order_line_id: int) -> int:
    # A line whose fee floored to zero has no fee entry; its fee stays zero on any smaller remainder.
    rate = session.exec(
        select(LedgerEntry.rate_bp).where(
            LedgerEntry.order_line_id == order_line_id, LedgerEntry.account == PLATFORM_FEE, LedgerEntry.kind == KIND_PAYMENT
        )
    ).first()
    return int(rate or 0)


@dataclass(frozen=True)
class Problem:
    """One finding of check_ledger: what is wrong, and where."""

    kind: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}: {self.detail}"


def check_ledger(session: Session) -> list[Problem]:
    """Audit the ledger: every transaction and every order sums to zero, every paid order is booked,
    every line's booked commission, fee, merchant payable and refunds match the rule for its
    paid − refunded amount and are owned by the right parties, and paid payouts match their entries."""
    problems: list[Problem] = []
    for txn_id, total in session.exec(
        select(LedgerEntry.txn_id, func.sum(LedgerEntry.amount_fen))
        .group_by(LedgerEntry.txn_id)
        .having(func.sum(LedgerEntry.amount_fen) != 0)
    ).all():
        problems.append(Problem("unbalanced_txn", f"txn {txn_id}", f"sums to {total}, not 0"))
    for order_id, total in session.exec(
        select(LedgerEntry.order_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.order_id.is_not(None))
        .group_by(LedgerEntry.order_id)
        .having(func.sum(LedgerEntry.amount_fen) != 0)
    ).all():
        problems.append(Problem("unbalanced_order", f"order {order_id}", f"entries sum to {total}, not 0"))
    problems.extend(_check_lines(session))
    problems.extend(_check_payouts(session))
    return problems


def _check_lines(session: Session) -> list[Problem]:
    problems: list[Problem] = []
    booked: dict[int, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line_id, account, amount in session.exec(
        select(LedgerEntry.order_line_id, LedgerEntry.account, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.order_line_id.is_not(None))
        .group_by(LedgerEntry.order_line_id, LedgerEntry.account)
    ).all():
        booked[line_id][account] = int(amount or 0)
    fee_rates = dict(
        session.exec(
            select(LedgerEntry.order_line_id, func.max(LedgerEntry.rate_bp)).where(
                LedgerEntry.account == PLATFORM_FEE, LedgerEntry.kind == KIND_PAYMENT
            ).group_by(LedgerEntry.order_line_id)
        ).all()
    )
    wrong_owner = session.exec(
        select(LedgerEntry.order_line_id, LedgerEntry.account, LedgerEntry.owner_id, OrderLine.beneficiary_id)
        .join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
        .where(
            LedgerEntry.account.in_(COMMISSION_ACCOUNTS),
            (LedgerEntry.owner_id != OrderLine.beneficiary_id) | OrderLine.beneficiary_id.is_(None) | LedgerEntry.owner_id.is_(None),
        )
    ).all()
    for line_id, account, owner_id, beneficiary_id in wrong_owner:
        problems.append(Problem("wrong_beneficiary", f"line {line_id}", f"{account} credited to {owner_id}, beneficiary is {beneficiary_id}"))

    rows = session.exec(
        select(OrderLine, Order.paid_at).join(Order, Order.id == OrderLine.order_id).where(
            Order.paid_at.is_not(None) | OrderLine.id.in_(list(booked) or [-1])
        )
    ).all()
    for line, paid_at in rows:
        have = booked.get(line.id, defaultdict(int))
        subject = f"line {line.id} (order {line.order_id})"
        paid = -have[BUYER_PAYMENTS]
        if paid_at is None:
            problems.append(Problem("unpaid_order_booked", subject, "has ledger entries but its order was never paid"))
            continue
        if paid != line.line_total_fen:
            problems.append(Problem("payment_mismatch", subject, f"booked payment {paid}, line total {line.line_total_fen}"))
            continue
        if have[REFUNDS] != line.refunded_fen:
            problems.append(Problem("refund_mismatch", subject, f"booked refunds {have[REFUNDS]}, line says {line.refunded_fen}"))
        remaining = line.line_total_fen - line.refunded_fen
        expected = commission.split_line(
            remaining, commission_bp=line.commission_bp, fee_bp=fee_rates.get(line.id) or 0, has_beneficiary=line.beneficiary_id is not None
        )
        got_commission = have[COMMISSION_PENDING] + have[COMMISSION_CONFIRMED]
        if got_commission != expected.commission_fen:
            problems.append(
                Problem("commission_mismatch", subject, f"booked {got_commission}, the rule gives {expected.commission_fen} on {remaining}")
            )
        if line.id in fee_rates and have[PLATFORM_FEE] != expected.fee_fen:
            problems.append(Problem("fee_mismatch", subject, f"booked {have[PLATFORM_FEE]}, the rule gives {expected.fee_fen}"))
        parts = have[MERCHANT_PAYABLE] + have[PLATFORM_FEE] + got_commission
        if parts != remaining:
            problems.append(
                Problem("split_mismatch", subject, f"merchant + fee + commission = {parts}, paid − refunded = {remaining}")
            )
        if have[COMMISSION_PENDING] < 0:
            problems.append(Problem("negative_pending", subject, f"pending commission {have[COMMISSION_PENDING]}"))
    return problems


def _check_payouts(session: Session) -> list[Problem]:
    problems: list[Problem] = []
    booked = dict(
        session.exec(
            select(LedgerEntry.payout_id, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.payout_id.is_not(None), LedgerEntry.account == COMMISSION_PAID)
            .group_by(LedgerEntry.payout_id)
        ).all()
    )
    for payout in session.exec(select(Payout)).all():
        expected = payout.amount_fen if payout.status == "paid" else 0
        if int(booked.get(payout.id) or 0) != expected:
            problems.append(Problem("payout_mismatch", f"payout {payout.id}", f"booked {booked.get(payout.id) or 0}, expected {expected}"))
    return problems
