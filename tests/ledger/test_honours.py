from datetime import date, datetime, timezone

import pytest

from zhongcao.errors import InvalidInput
from zhongcao.ledger import honours

from tests.ledger.factories import T0

NOV = date(2026, 11, 1)
IN_NOVEMBER = datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc)
# 01:00 on 1 November in China, still 31 October in UTC: the board follows China time.
NOVEMBER_FIRST_IN_CHINA = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)
LAST_OF_OCTOBER_IN_CHINA = datetime(2026, 10, 31, 15, 59, tzinfo=timezone.utc)


def test_the_leaderboard_ranks_creators_by_sales_confirmed_in_the_month(session, make_user, earn):
    alice, bob, carol, dave = (make_user(is_creator=True, handle=name) for name in ("alice", "bob", "carol", "dave"))
    earn(alice, 30000, paid_at=T0, confirm_at=IN_NOVEMBER)
    earn(bob, 20000, paid_at=T0, confirm_at=IN_NOVEMBER)
    earn(bob, 30000, paid_at=T0, confirm_at=NOVEMBER_FIRST_IN_CHINA)
    earn(carol, 100000, paid_at=T0)  # still pending: not on the board
    earn(dave, 90000, paid_at=T0, confirm_at=LAST_OF_OCTOBER_IN_CHINA)

    rows = honours.leaderboard(session, month=NOV)

    assert [(row.rank, row.handle, row.sales_fen, row.orders) for row in rows] == [(1, "bob", 50000, 2), (2, "alice", 30000, 1)]
    assert rows[0].commission_fen == 5000
    assert [row.handle for row in honours.leaderboard(session, month=date(2026, 10, 1))] == ["dave"]


def test_ties_on_sales_go_to_the_creator_with_more_orders(session, make_user, earn):
    one, two = make_user(is_creator=True, handle="one"), make_user(is_creator=True, handle="two")
    earn(one, 20000, confirm_at=IN_NOVEMBER)
    earn(two, 10000, confirm_at=IN_NOVEMBER)
    earn(two, 10000, confirm_at=IN_NOVEMBER)

    assert [row.handle for row in honours.leaderboard(session, month=NOV)] == ["two", "one"]


def test_badges_mark_the_first_sale_ten_orders_and_past_monthly_wins(session, make_user, earn):
    star, rival = make_user(is_creator=True), make_user(is_creator=True)
    assert honours.creator_badges(session, creator_id=star.id, now=IN_NOVEMBER) == []
    for _ in range(10):
        earn(star, 1000, confirm_at=LAST_OF_OCTOBER_IN_CHINA)
    earn(rival, 5000, confirm_at=LAST_OF_OCTOBER_IN_CHINA)
    earn(rival, 50000, confirm_at=IN_NOVEMBER)

    star_badges = honours.creator_badges(session, creator_id=star.id, now=IN_NOVEMBER)
    rival_badges = honours.creator_badges(session, creator_id=rival.id, now=IN_NOVEMBER)

    assert [badge.code for badge in star_badges] == ["first_sale", "ten_orders", "monthly_top"]
    assert star_badges[-1].detail == "2026-10"
    # Rival leads November, but November is not over: no monthly badge yet.
    assert [badge.code for badge in rival_badges] == ["first_sale"]


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "nov", "", "1999-12", "2026-11-01"])
def test_a_malformed_month_is_refused(text):
    with pytest.raises(InvalidInput) as error:
        honours.parse_month(text)

    assert error.value.code == "month_invalid"


def test_months_step_across_the_year():
    assert honours.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert honours.previous_month(date(2027, 1, 1)) == date(2026, 12, 1)
    assert honours.parse_month("2026-11") == NOV
