"""Migration 0004: an owner's duplicate carts (made by racing first adds before the unique index)
are merged into the oldest by sign-in's merge rule, then one cart per owner is enforced."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from zhongcao.commerce.models import SOURCE_ARTICLE, Cart, CartLine
from zhongcao.migrations import alembic_config, upgrade

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)
CARTS, LINES = Cart.__table__, CartLine.__table__


@pytest.fixture
def before_0004(engine):
    """The test's database at revision 0003 (no unique index on cart.owner_id), brought back to head afterwards."""
    command.downgrade(alembic_config(engine), "0003")
    try:
        yield engine
    finally:
        upgrade(engine)


def _cart(connection, owner_id=None, token=None, at=T0) -> int:
    return connection.execute(insert(CARTS).values(owner_id=owner_id, token=token, created_at=at, updated_at=at)
                              .returning(CARTS.c.id)).scalar_one()


def _line(connection, cart_id, product, quantity, at, beneficiary=None) -> None:
    connection.execute(insert(LINES).values(
        cart_id=cart_id, product_id=product.id, quantity=quantity, added_at=at, beneficiary_id=beneficiary,
        attribution_source=SOURCE_ARTICLE if beneficiary else None, attribution_ref=7 if beneficiary else None,
    ))


def _lines(connection, cart_id) -> dict[int, tuple]:
    rows = connection.execute(select(LINES).where(LINES.c.cart_id == cart_id))
    return {row.product_id: (row.quantity, row.beneficiary_id, row.added_at.replace(tzinfo=None)) for row in rows}


def test_upgrading_merges_each_owners_carts_into_the_oldest_as_sign_in_merges(
    before_0004, make_user, make_product
):
    buyer, other_buyer, creator, earlier_sharer = make_user(), make_user(), make_user(is_creator=True), make_user()
    scarce, summed, moved = make_product(stock=4), make_product(stock=500), make_product(stock=10)
    with before_0004.begin() as connection:
        oldest = _cart(connection, owner_id=buyer.id, at=T0)
        _line(connection, oldest, scarce, 2, T0)
        _line(connection, oldest, summed, 60, T0)
        newer = _cart(connection, owner_id=buyer.id, at=T0 + timedelta(hours=1))
        _line(connection, newer, scarce, 3, T0 + timedelta(hours=1), beneficiary=creator.id)
        _line(connection, newer, moved, 4, T0 + timedelta(hours=1))
        newest = _cart(connection, owner_id=buyer.id, at=T0 + timedelta(hours=2))
        _line(connection, newest, summed, 50, T0 - timedelta(days=1), beneficiary=earlier_sharer.id)
        untouched = _cart(connection, owner_id=other_buyer.id)
        _line(connection, untouched, moved, 1, T0)
        anonymous = [_cart(connection, token=f"token-{n}-" + "x" * 20) for n in range(2)]

    upgrade(before_0004)

    with before_0004.connect() as connection:
        owned = connection.execute(select(CARTS.c.id).where(CARTS.c.owner_id == buyer.id)).scalars().all()
        assert owned == [oldest]
        assert _lines(connection, oldest) == {
            scarce.id: (4, creator.id, (T0 + timedelta(hours=1)).replace(tzinfo=None)),  # 2 + 3 capped at the 4 left; newer credit
            summed.id: (99, None, T0.replace(tzinfo=None)),  # 60 + 50 capped at 99; the older line's credit loses
            moved.id: (4, None, (T0 + timedelta(hours=1)).replace(tzinfo=None)),
        }
        assert _lines(connection, untouched) == {moved.id: (1, None, T0.replace(tzinfo=None))}
        remaining = set(connection.execute(select(CARTS.c.id)).scalars())
        assert remaining == {oldest, untouched, *anonymous}
    with pytest.raises(IntegrityError), before_0004.begin() as connection:
        _cart(connection, owner_id=buyer.id)
    with before_0004.begin() as connection:  # anonymous carts stay outside the index
        _cart(connection, token="another-token-" + "y" * 20)
