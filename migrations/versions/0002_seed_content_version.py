"""Seed the single content_version row that cached pages are keyed by.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = sa.table("content_version", sa.column("id", sa.Integer), sa.column("value", sa.Integer))
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM content_version WHERE id = 1")
