"""Regenerate migrations/versions/0001_initial_schema.py from the models.

Only while nothing has been released: once a deployment exists, every schema change gets a new
migration instead (`alembic revision --autogenerate`), and this script must not be used.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from zhongcao.db import make_engine
from zhongcao.migrations import SCRIPT_LOCATION, alembic_config


def main() -> None:
    for old in (SCRIPT_LOCATION / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'empty.sqlite3'}")
        command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
        engine.dispose()


if __name__ == "__main__":
    main()
