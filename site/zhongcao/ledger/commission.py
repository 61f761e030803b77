"""The money rule for one paid order line: creator commission, platform fee and merchant payable.

Rounding rule: commission and fee are each floor(amount × bp / 10000), computed with integers only.
Flooring means the platform never promises a creator (or itself) more than was earned, so a payout can
never exceed what buyers paid; the fractions of a fen that flooring drops stay with the merchant,
whose payable is whatever is left: paid − commission − fee. The three parts therefore always add up
to the paid amount exactly, with no fen created or lost.

Refunds recompute on what remains paid (see `refund_deltas`) rather than taking the rate of the
refunded amount, so after any sequence of partial refunds the booked commission equals the rule
applied to the remaining amount, and rounding can never drift.
"""
from __future__ import annotations

from dataclasses import dataclass

BP_DENOMINATOR = 10_000


def share_fen(amount_fen: int, rate_bp: int) -> int:
    """floor(amount × rate / 10000) in integers: 3333 fen at 1250 bp -> 416 (416.625 floored)."""
    if amount_fen < 0 or rate_bp < 0:
        raise ValueError("amounts and rates are never negative here")
    return amount_fen * rate_bp // BP_DENOMINATOR


@dataclass(frozen=True)
class Split:
    """How an amount paid for a line divides; the parts always sum to `paid_fen`."""

    paid_fen: int
    commission_fen: int
    fee_fen: int
    merchant_fen: int


def split_line(paid_fen: int, *, commission_bp: int, fee_bp: int, has_beneficiary: bool) -> Split:
    """Divide the amount paid for a line; a line nobody is credited for earns no commission."""
    commission = share_fen(paid_fen, commission_bp) if has_beneficiary else 0
    fee = share_fen(paid_fen, fee_bp)
    return Split(paid_fen=paid_fen, commission_fen=commission, fee_fen=fee, merchant_fen=paid_fen - commission - fee)


def refund_deltas(
    paid_fen: int, *, refunded_before_fen: int, refund_fen: int, commission_bp: int, fee_bp: int, has_beneficiary: bool
) -> Split:
    """What a refund of `refund_fen` takes back from each part: the split of the amount still paid
    before the refund minus the split of the amount still paid after it (so rounding never drifts)."""
    before = split_line(paid_fen - refunded_before_fen, commission_bp=commission_bp, fee_bp=fee_bp, has_beneficiary=has_beneficiary)
    after = split_line(
        paid_fen - refunded_before_fen - refund_fen, commission_bp=commission_bp, fee_bp=fee_bp, has_beneficiary=has_beneficiary
    )
    return Split(
        paid_fen=refund_fen,
        commission_fen=before.commission_fen - after.commission_fen,
        fee_fen=before.fee_fen - after.fee_fen,
        merchant_fen=before.merchant_fen - after.merchant_fen,
    )
