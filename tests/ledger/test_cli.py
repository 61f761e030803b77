from sqlmodel import select

from zhongcao.ledger import ledger
from zhongcao.ledger.models import COMMISSION_PENDING, LedgerEntry

from tests.ledger.factories import T0


def run_ledger_check(app):
    return app.test_cli_runner().invoke(args=["zhongcao", "ledger-check"])


def test_ledger_check_passes_on_a_balanced_ledger(app, session, make_paid_order, make_user):
    order = make_paid_order([dict(unit_price_fen=3333, commission_bp=1250, beneficiary=make_user(is_creator=True))])
    ledger.record_payment(session, checkout_id=order.checkout_id, now=T0)

    result = run_ledger_check(app)

    assert result.exit_code == 0, result.output
    assert "ledger check passed" in result.output


def test_ledger_check_exits_non_zero_on_an_unbalanced_entry(app, session, make_paid_order, make_user):
    order = make_paid_order([dict(unit_price_fen=3333, commission_bp=1250, beneficiary=make_user(is_creator=True))])
    ledger.record_payment(session, checkout_id=order.checkout_id, now=T0)
    pending = session.exec(select(LedgerEntry).where(LedgerEntry.account == COMMISSION_PENDING)).one()
    session.add(LedgerEntry(txn_id=pending.txn_id, kind="payment", account=COMMISSION_PENDING, owner_id=pending.owner_id,
                            amount_fen=100, order_id=pending.order_id, order_line_id=pending.order_line_id))
    session.commit()

    result = run_ledger_check(app)

    assert result.exit_code == 1
    assert "unbalanced_txn" in result.output
    assert f"order {order.id}" in result.output
