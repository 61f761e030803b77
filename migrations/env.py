"""Alembic environment: uses the engine handed over by zhongcao.migrations, or the configured URL."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from zhongcao.db import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies for ALTERs
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
