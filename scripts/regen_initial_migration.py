"""Regenerate migrations/versions/0001_initial_schema.py from the models.

Only while nothing has been released: once a deployment exists, every schema change gets a new
migration instead (`alembic revision --autogenerate`), and this script must not be used.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from alembic import command

from zhongcao.db import make_engine
from zhongcao.migrations import SCRIPT_LOCATION, alembic_config


def main() -> None:
    versions = SCRIPT_LOCATION / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        # Later data migrations (0002_…) revise 0001: park them while 0001 does not exist.
        parked = Path(scratch) / "parked"
        parked.mkdir()
        later = sorted(versions.glob("*.py"))
        for path in later:
            shutil.move(str(path), parked / path.name)
        try:
            engine = make_engine(f"sqlite:///{Path(scratch) / 'empty.sqlite3'}")
            command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
            engine.dispose()
        finally:
            for path in later:
                shutil.move(str(parked / path.name), versions / path.name)


if __name__ == "__main__":
    main()
