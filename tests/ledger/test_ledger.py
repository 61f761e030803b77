from datetime import timedelta

import pytest
from sqlmodel import select

from zhongcao.commerce.models import OrderLine
from zhongcao.errors import Conflict, InvalidInput
from zhongcao.ledger import ledger
from zhongcao.ledger.models import (
    BUYER_PAYMENTS,
    COMMISSION_CONFIRMED,
    COMMISSION_PENDING,
    MERCHANT_PAYABLE,
    PLATFORM_FEE,
    REFUNDS,
    LedgerEntry,
)

from tests.ledger.factories import T0


def entries_of(session, txn_id):
    rows = session.exec(select(LedgerEntry).where(LedgerEntry.txn_id == txn_id).order_by(LedgerEntry.id)).all()
    return sorted((row.account, row.owner_id, row.amount_fen) for row in rows)


def line_of(session, order):
    return session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()


@pytest.fixture
def creator(make_user):
    return make_user(is_creator=True)


@pytest.fixture
def awkward_order(make_paid_order, make_product, creator):
    """One line of 3333 fen at 12.5% commission, credited to `creator`."""
    return make_paid_order([dict(product=make_product(price_fen=3333, commission_bp=1250), beneficiary=creator)])


def test_a_payment_books_buyer_merchant_commission_and_fee_summing_to_zero(session, awkward_order, creator):
    [txn_id] = ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)

    assert entries_of(session, txn_id) == sorted(
        [
            (BUYER_PAYMENTS, awkward_order.buyer_id, -3333),
            (MERCHANT_PAYABLE, awkward_order.shop_id, 2851),
            (COMMISSION_PENDING, creator.id, 416),
            (PLATFORM_FEE, None, 66),
        ]
    )
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 416
    assert ledger.check_ledger(session) == []


def test_a_checkout_of_several_shops_books_one_balanced_transaction_per_order(session, make_paid_order, make_product, creator):
    order = make_paid_order(
        [
            dict(product=make_product(price_fen=1999, commission_bp=1000), quantity=3, beneficiary=creator),
            dict(product=make_product(price_fen=501, commission_bp=700)),
        ]
    )

    txn_ids = ledger.record_payment(session, checkout_id=order.checkout_id, now=T0)

    assert len(txn_ids) == 1
    amounts = [amount for _, _, amount in entries_of(session, txn_ids[0])]
    assert sum(amounts) == 0
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 599  # floor(5997 × 10%)
    assert ledger.balance(session, account=BUYER_PAYMENTS) == -(5997 + 501)
    assert ledger.check_ledger(session) == []


def test_recording_the_same_payment_twice_books_it_once(session, awkward_order):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)

    again = ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)

    assert again == []
    assert ledger.balance(session, account=BUYER_PAYMENTS) == -3333


def test_the_platform_fee_follows_the_apps_setting(session, awkward_order, app):
    ledger.configure(app.extensions["zhongcao.engine"], platform_fee_bp=500)

    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)

    assert ledger.balance(session, account=PLATFORM_FEE) == 166  # floor(3333 × 5%)
    assert ledger.check_ledger(session) == []


def test_confirming_moves_pending_commission_to_confirmed_once(session, awkward_order, creator):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)

    first = ledger.confirm_order_commissions(session, order_id=awkward_order.id, now=T0 + timedelta(days=10))
    second = ledger.confirm_order_commissions(session, order_id=awkward_order.id, now=T0 + timedelta(days=11))

    assert entries_of(session, first) == sorted([(COMMISSION_PENDING, creator.id, -416), (COMMISSION_CONFIRMED, creator.id, 416)])
    assert second is None
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 0
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 416
    assert ledger.check_ledger(session) == []


def test_a_refund_before_confirmation_reverses_pending_commission_on_the_remainder(session, awkward_order, creator, refund_line):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    line = line_of(session, awkward_order)

    txn_id = refund_line(line, 1111, now=T0 + timedelta(days=2))

    # Remaining 2222: commission floor(277.75) = 277 (416 − 139); fee floor(44.44) = 44 (66 − 22).
    assert entries_of(session, txn_id) == sorted(
        [
            (REFUNDS, awkward_order.buyer_id, 1111),
            (MERCHANT_PAYABLE, awkward_order.shop_id, -950),
            (COMMISSION_PENDING, creator.id, -139),
            (PLATFORM_FEE, None, -22),
        ]
    )
    assert ledger.balance(session, account=COMMISSION_PENDING, owner_id=creator.id) == 277
    assert ledger.check_ledger(session) == []

    ledger.confirm_order_commissions(session, order_id=awkward_order.id, now=T0 + timedelta(days=10))
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 277


def test_a_refund_after_confirmation_books_a_negative_adjustment_on_confirmed(session, awkward_order, creator, refund_line):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    ledger.confirm_order_commissions(session, order_id=awkward_order.id, now=T0 + timedelta(days=10))
    line = line_of(session, awkward_order)

    txn_id = refund_line(line, 3333, now=T0 + timedelta(days=12))

    assert entries_of(session, txn_id) == sorted(
        [
            (REFUNDS, awkward_order.buyer_id, 3333),
            (MERCHANT_PAYABLE, awkward_order.shop_id, -2851),
            (COMMISSION_CONFIRMED, creator.id, -416),
            (PLATFORM_FEE, None, -66),
        ]
    )
    kinds = {row.account: row.kind for row in session.exec(select(LedgerEntry).where(LedgerEntry.txn_id == txn_id))}
    assert kinds[COMMISSION_CONFIRMED] == "commission_adjust"
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 0
    assert ledger.check_ledger(session) == []


def test_refunds_beyond_what_was_paid_are_refused(session, awkward_order, refund_line):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    line = line_of(session, awkward_order)
    refund_line(line, 3000)

    with pytest.raises(InvalidInput) as error:
        ledger.record_refund(session, order_line_id=line.id, amount_fen=334)

    assert error.value.code == "refund_exceeds_paid"
    with pytest.raises(InvalidInput):
        ledger.record_refund(session, order_line_id=line.id, amount_fen=0)


def test_an_unpaid_line_cannot_be_refunded(session, awkward_order):
    with pytest.raises(Conflict) as error:
        ledger.record_refund(session, order_line_id=line_of(session, awkward_order).id, amount_fen=100)

    assert error.value.code == "refund_unpaid"


def test_posting_an_unbalanced_transaction_is_refused(session):
    with pytest.raises(ledger.UnbalancedTransaction):
        ledger.post(session, [LedgerEntry(txn_id="t1", kind="payment", account=PLATFORM_FEE, amount_fen=5)])

    assert session.exec(select(LedgerEntry)).all() == []


def test_check_ledger_finds_a_tampered_entry(session, awkward_order, creator):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    line = line_of(session, awkward_order)
    txn_id = session.exec(select(LedgerEntry.txn_id)).first()
    session.add(
        LedgerEntry(txn_id=txn_id, kind="payment", account=COMMISSION_PENDING, owner_id=creator.id,
                    amount_fen=1, order_id=awkward_order.id, order_line_id=line.id)
    )
    session.commit()

    kinds = {problem.kind for problem in ledger.check_ledger(session)}

    assert {"unbalanced_txn", "unbalanced_order", "commission_mismatch"} <= kinds


def test_check_ledger_finds_a_balanced_but_wrong_commission(session, awkward_order, creator):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    line = line_of(session, awkward_order)
    # Balanced, so only the rule check can see it: one fen moved from the merchant to the creator.
    common = dict(txn_id="tamper-1", kind="payment", order_id=awkward_order.id, order_line_id=line.id)
    session.add(LedgerEntry(account=COMMISSION_PENDING, owner_id=creator.id, amount_fen=1, **common))
    session.add(LedgerEntry(account=MERCHANT_PAYABLE, owner_id=awkward_order.shop_id, amount_fen=-1, **common))
    session.commit()

    problems = ledger.check_ledger(session)

    assert [problem.kind for problem in problems] == ["commission_mismatch"]
    assert "417" in problems[0].detail and "416" in problems[0].detail


def test_check_ledger_finds_a_paid_order_that_was_never_booked(session, awkward_order):
    problems = ledger.check_ledger(session)

    assert [problem.kind for problem in problems] == ["payment_mismatch"]


def test_check_ledger_finds_a_refund_the_ledger_never_heard_of(session, awkward_order):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    line = line_of(session, awkward_order)
    line.refunded_fen = 1000
    session.add(line)
    session.commit()

    kinds = {problem.kind for problem in ledger.check_ledger(session)}

    assert {"refund_mismatch", "commission_mismatch"} <= kinds


def test_commission_credited_to_someone_other_than_the_beneficiary_is_found(session, awkward_order, make_user):
    ledger.record_payment(session, checkout_id=awkward_order.checkout_id, now=T0)
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.account == COMMISSION_PENDING)).one()
    entry.owner_id = make_user().id
    session.add(entry)
    session.commit()

    assert [problem.kind for problem in ledger.check_ledger(session)] == ["wrong_beneficiary"]
