"""Choosing and building the search backend from configuration (SEARCH_BACKEND)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import Engine

from zhongcao.search import SearchBackend

BACKENDS = ("whoosh", "postgres")


class UnknownBackend(ValueError):
    """SEARCH_BACKEND names no backend, or one that cannot run on this database."""


def make_backend(config: Mapping, engine: Engine) -> SearchBackend:
    """The backend SEARCH_BACKEND names: "whoosh" (an index in DATA_DIR/search) or "postgres".

    Raises UnknownBackend for another name, or for "postgres" on a database that is not PostgreSQL.
    """
    name = str(config.get("SEARCH_BACKEND") or "whoosh").strip().lower()
    if name == "whoosh":
        from zhongcao.search.whoosh_backend import WhooshBackend

        root = config.get("SEARCH_DIR") or Path(config["DATA_DIR"]) / "search"
        return WhooshBackend(root, build_procs=int(config.get("SEARCH_BUILD_PROCS") or 1))
    if name == "postgres":
        if engine.dialect.name != "postgresql":
            raise UnknownBackend("SEARCH_BACKEND=postgres needs a PostgreSQL DATABASE_URL")
        from zhongcao.search import postgres_backend

        return postgres_backend.PostgresBackend(engine)
    raise UnknownBackend(f"SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
