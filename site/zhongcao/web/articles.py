"""Article pages, the editor with live preview, and the writing help page."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("articles", __name__)


@bp.get("/write")
def new_article():
    return "TODO(#2): editor", 501


@bp.get("/help/writing")
def show_writing_help():
    return "TODO(#2): help", 501
