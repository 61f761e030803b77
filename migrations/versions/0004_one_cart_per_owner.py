"""One cart per account: merge an owner's duplicate carts, then a unique index on cart.owner_id.

Two simultaneous first adds of one buyer could each find no cart and make one; the later cart then
hid the earlier. Every owner's carts are merged into their oldest (the one the site showed) by the
rule of sign-in's merge (commerce.cart.merge_carts): the same product's quantities are summed,
capped at the stock and at 99 and never below 1, and the attribution of the newer line wins when it
has one. Anonymous carts (no owner) are found by their token and stay out of the index.

The downgrade drops the unique index; merged carts stay merged.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MAX_LINE_QUANTITY = 99  # commerce.cart.MAX_LINE_QUANTITY when this was written
OWNED = sa.text("owner_id IS NOT NULL")

cart = sa.table(
    "cart", sa.column("id", sa.Integer), sa.column("owner_id", sa.Integer),
    sa.column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)
cart_line = sa.table(
    "cart_line", sa.column("id", sa.Integer), sa.column("cart_id", sa.Integer), sa.column("product_id", sa.Integer),
    sa.column("quantity", sa.Integer), sa.column("beneficiary_id", sa.Integer),
    sa.column("attribution_source", sa.String), sa.column("attribution_ref", sa.Integer),
    sa.column("added_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)
product = sa.table("product", sa.column("id", sa.Integer), sa.column("stock", sa.Integer))


def upgrade() -> None:
    merge_duplicate_carts(op.get_bind())
    op.drop_index("ix_cart_owner_id", table_name="cart")
    op.create_index("uq_cart_owner_id", "cart", ["owner_id"], unique=True, sqlite_where=OWNED, postgresql_where=OWNED)


def downgrade() -> None:
    op.drop_index("uq_cart_owner_id", table_name="cart")
    op.create_index("ix_cart_owner_id", "cart", ["owner_id"], unique=False)


def merge_duplicate_carts(bind) -> None:
    owners = bind.execute(
        sa.select(cart.c.owner_id).where(cart.c.owner_id.is_not(None))
        .group_by(cart.c.owner_id).having(sa.func.count() > 1)
    ).scalars().all()
    for owner_id in owners:
        rows = bind.execute(
            sa.select(cart.c.id, cart.c.updated_at).where(cart.c.owner_id == owner_id).order_by(cart.c.id)
        ).all()
        keep, duplicates = rows[0], rows[1:]
        for duplicate in duplicates:
            _move_lines(bind, from_cart=duplicate.id, into_cart=keep.id)
            bind.execute(sa.delete(cart).where(cart.c.id == duplicate.id))
        bind.execute(sa.update(cart).where(cart.c.id == keep.id)
                     .values(updated_at=max(row.updated_at for row in rows)))


def _move_lines(bind, *, from_cart: int, into_cart: int) -> None:
    lines = bind.execute(sa.select(cart_line).where(cart_line.c.cart_id == from_cart).order_by(cart_line.c.id)).all()
    for line in lines:
        existing = bind.execute(
            sa.select(cart_line).where(cart_line.c.cart_id == into_cart, cart_line.c.product_id == line.product_id)
        ).first()
        if existing is None:
            bind.execute(sa.update(cart_line).where(cart_line.c.id == line.id)
                         .values(cart_id=into_cart, quantity=min(line.quantity, MAX_LINE_QUANTITY)))
            continue
        stock = bind.execute(sa.select(product.c.stock).where(product.c.id == line.product_id)).scalar() or 0
        values = {
            "quantity": max(1, min(existing.quantity + line.quantity, stock, MAX_LINE_QUANTITY)),
            "added_at": max(existing.added_at, line.added_at),
        }
        if line.added_at >= existing.added_at and line.beneficiary_id is not None:
            values.update(beneficiary_id=line.beneficiary_id, attribution_source=line.attribution_source,
                          attribution_ref=line.attribution_ref)
        bind.execute(sa.delete(cart_line).where(cart_line.c.id == line.id))
        bind.execute(sa.update(cart_line).where(cart_line.c.id == existing.id).values(**values))
