from tests.ledger.factories import earn, make_paid_order, refund_line  # noqa: F401  (fixtures)
