"""Serve uploaded images: by generated name only, as images only."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("media", __name__)

_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@bp.get("/media/<name>")
def show_media(name: str):
    stem, _, extension = name.partition(".")
    if extension not in _TYPES or len(stem) != 32 or any(ch not in "0123456789abcdef" for ch in stem):
        abort(404)
    directory = Path(current_app.config["DATA_DIR"]) / "uploads"
    response = send_from_directory(directory, name, mimetype=_TYPES[extension], max_age=31536000)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = "inline"
    return response
