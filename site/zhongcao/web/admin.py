"""Admin: creator applications, hiding content, users and roles."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
def show_dashboard():
    return "TODO(#2): admin", 501
