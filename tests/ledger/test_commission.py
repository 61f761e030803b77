import pytest

from zhongcao.ledger.commission import refund_deltas, share_fen, split_line


def test_commission_is_floored_to_the_fen():
    assert share_fen(3333, 1250) == 416  # 416.625
    assert share_fen(3333, 200) == 66  # 66.66
    assert share_fen(1, 9999) == 0
    assert share_fen(10000, 1000) == 1000


def test_the_parts_of_an_awkward_line_add_up_to_what_was_paid():
    split = split_line(3333, commission_bp=1250, fee_bp=200, has_beneficiary=True)

    assert (split.commission_fen, split.fee_fen, split.merchant_fen) == (416, 66, 2851)
    assert split.commission_fen + split.fee_fen + split.merchant_fen == 3333


def test_a_line_nobody_is_credited_for_earns_no_commission():
    split = split_line(3333, commission_bp=1250, fee_bp=200, has_beneficiary=False)

    assert (split.commission_fen, split.fee_fen, split.merchant_fen) == (0, 66, 3267)


def test_partial_refunds_recompute_on_the_remainder_so_rounding_never_drifts():
    paid, rate = 999, 1250  # 124.875 fen of commission on the whole line
    refunded, taken_back = 0, 0
    for piece in (333, 333, 333):
        deltas = refund_deltas(paid, refunded_before_fen=refunded, refund_fen=piece, commission_bp=rate, fee_bp=200, has_beneficiary=True)
        assert deltas.commission_fen + deltas.fee_fen + deltas.merchant_fen == piece
        refunded += piece
        taken_back += deltas.commission_fen
        assert share_fen(paid, rate) - taken_back == share_fen(paid - refunded, rate)

    assert taken_back == share_fen(paid, rate) == 124


def test_negative_amounts_are_refused():
    with pytest.raises(ValueError):
        share_fen(-1, 100)
