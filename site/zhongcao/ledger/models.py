"""The money ledger: immutable double-entry entries; every balance is a sum of entries.

Each money movement is one transaction (`txn_id`) of two or more entries whose amounts sum to zero.
Entries are never updated or deleted: corrections are new, reversing entries.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow

# Accounts (`account`), each optionally owned by a user or shop (`owner_id`):
BUYER_PAYMENTS = "buyer_payments"  # money received from buyers (cash held by the platform); owner = buyer
MERCHANT_PAYABLE = "merchant_payable"  # what the platform owes a shop; owner = shop id
COMMISSION_PENDING = "commission_pending"  # commission earned but inside the return window; owner = creator
COMMISSION_CONFIRMED = "commission_confirmed"  # confirmed, payable; owner = creator
COMMISSION_PAID = "commission_paid"  # paid out; owner = creator
PLATFORM_FEE = "platform_fee"  # the platform's fee from the merchant's side; no owner
REFUNDS = "refunds"  # money returned to buyers; owner = buyer


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"

    id: Optional[int] = Field(default=None, primary_key=True)
    txn_id: str = Field(max_length=40, index=True)  # groups the entries of one movement; they sum to zero
    kind: str = Field(max_length=30)  # payment / refund / commission_confirm / commission_adjust / payout
    account: str = Field(max_length=30, index=True)
    owner_id: Optional[int] = Field(default=None, index=True)
    amount_fen: int  # signed: credits positive, debits negative, by the convention in ledger.py
    order_id: Optional[int] = Field(default=None, foreign_key="shop_order.id", index=True)
    order_line_id: Optional[int] = Field(default=None, foreign_key="order_line.id", index=True)
    payout_id: Optional[int] = Field(default=None, foreign_key="payout.id", index=True)
    # The rate an amount was computed at (the line's commission_bp, or the platform fee's bp), so a
    # later refund recomputes at the same rate even if the product or the fee setting changed since.
    rate_bp: Optional[int] = None
    memo: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Payout(SQLModel, table=True):
    __tablename__ = "payout"

    id: Optional[int] = Field(default=None, primary_key=True)
    creator_id: int = Field(foreign_key="user_account.id", index=True)
    amount_fen: int
    status: str = Field(default="requested", max_length=16, index=True)  # requested / paid
    requested_at: datetime = Field(default_factory=utcnow)
    paid_at: Optional[datetime] = None
    paid_by_id: Optional[int] = Field(default=None, foreign_key="user_account.id")
