"""The GIN index behind the PostgreSQL search backend (PostgreSQL only).

The search_document table comes from 0001 on every database; on SQLite it stays unused, so only
PostgreSQL gets the index that makes `search_vector @@ tsquery` fast.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_search_document_search_vector ON search_document USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_document_search_vector")
