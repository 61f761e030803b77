"""Ceiling routes for `make bench-pages`, registered only when BENCH_ROUTES is set.

They measure what the framework alone costs, so the real pages can be compared with them.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app

bp = Blueprint("bench", __name__, url_prefix="/_bench")
_prebuilt: dict[str, bytes] = {}


@bp.get("/hello")
def show_hello():
    return Response(b"hello, world", mimetype="text/plain")


@bp.get("/prebuilt")
def show_prebuilt():
    """The article page's HTML as pre-built bytes, read once from DATA_DIR/bench/article.html."""
    body = _prebuilt.get("article")
    if body is None:
        path = Path(current_app.config["DATA_DIR"]) / "bench" / "article.html"
        if not path.exists():
            abort(404)
        body = _prebuilt.setdefault("article", path.read_bytes())
    return Response(body, mimetype="text/html")
