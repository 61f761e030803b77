from datetime import timedelta

import pytest
from sqlmodel import select

from zhongcao.commerce.models import OrderLine
from zhongcao.errors import Conflict, InvalidInput
from zhongcao.ledger import ledger, payouts
from zhongcao.ledger.models import COMMISSION_CONFIRMED, COMMISSION_PAID, LedgerEntry

from tests.ledger.factories import T0

LATER = T0 + timedelta(days=20)


@pytest.fixture
def creator(make_user):
    return make_user(is_creator=True, handle="payee")


@pytest.fixture
def admin(make_user):
    return make_user(is_admin=True)


def test_a_creator_below_the_threshold_cannot_request_a_payout(session, creator, earn):
    earn(creator, 99990, commission_bp=1000, confirm_at=LATER)  # 9999 fen confirmed

    with pytest.raises(InvalidInput) as error:
        payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)

    assert error.value.code == "payout_below_minimum"
    assert error.value.context == {"available_fen": 9999, "min_fen": 10000}


def test_pending_commission_does_not_count_towards_a_payout(session, creator, earn):
    earn(creator, 500000, commission_bp=1000)  # 50000 fen, still pending

    with pytest.raises(InvalidInput):
        payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)


def test_a_payout_moves_confirmed_to_paid_with_entries_referencing_it(session, creator, admin, earn):
    earn(creator, 100000, commission_bp=1000, confirm_at=LATER)

    payout = payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)
    paid = payouts.mark_payout_paid(session, payout_id=payout.id, admin_id=admin.id, now=LATER + timedelta(days=1))

    assert (paid.amount_fen, paid.status, paid.paid_by_id) == (10000, "paid", admin.id)
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.payout_id == payout.id)).all()
    assert sorted((e.account, e.owner_id, e.amount_fen) for e in entries) == [
        (COMMISSION_CONFIRMED, creator.id, -10000),
        (COMMISSION_PAID, creator.id, 10000),
    ]
    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == 0
    assert ledger.balance(session, account=COMMISSION_PAID, owner_id=creator.id) == 10000
    assert ledger.check_ledger(session) == []


def test_only_one_payout_request_may_be_open_at_a_time(session, creator, earn):
    earn(creator, 300000, commission_bp=1000, confirm_at=LATER)
    payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)

    with pytest.raises(Conflict) as error:
        payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)

    assert error.value.code == "payout_already_open"


def test_a_payout_cannot_be_marked_paid_twice(session, creator, admin, earn):
    earn(creator, 100000, commission_bp=1000, confirm_at=LATER)
    payout = payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)
    payouts.mark_payout_paid(session, payout_id=payout.id, admin_id=admin.id, now=LATER)

    with pytest.raises(Conflict) as error:
        payouts.mark_payout_paid(session, payout_id=payout.id, admin_id=admin.id, now=LATER)

    assert error.value.code == "payout_already_paid"
    assert ledger.balance(session, account=COMMISSION_PAID, owner_id=creator.id) == 10000


def test_a_refund_after_payout_leaves_a_debt_netted_against_the_next_payout(session, creator, admin, earn, refund_line):
    first = earn(creator, 100000, commission_bp=1000, confirm_at=LATER)
    payout = payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)
    payouts.mark_payout_paid(session, payout_id=payout.id, admin_id=admin.id, now=LATER)
    refund_line(session.exec(select(OrderLine).where(OrderLine.order_id == first.id)).one(), 40000, now=LATER)

    assert ledger.balance(session, account=COMMISSION_CONFIRMED, owner_id=creator.id) == -4000
    earn(creator, 200000, commission_bp=1000, confirm_at=LATER + timedelta(days=1))
    second = payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER + timedelta(days=2))

    assert second.amount_fen == 20000 - 4000
    assert ledger.check_ledger(session) == []


def test_the_bank_run_csv_lists_open_requests_with_yuan_amounts(session, creator, earn):
    earn(creator, 123456, commission_bp=1000, confirm_at=LATER)  # 12345 fen
    payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=LATER)

    text = payouts.payouts_csv(payouts.list_payouts(session, status=payouts.REQUESTED))

    lines = text.splitlines()
    assert lines[0] == "payout_id,creator_handle,email,amount_yuan,status,requested_at,paid_at"
    assert lines[1].split(",")[1:] == ["payee", "payee@example.com", "123.45", "requested", LATER.isoformat(timespec="seconds"), ""]
    assert len(lines) == 2
