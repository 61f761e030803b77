"""Creator storefronts (/@handle), following, and the follow feed."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("creators", __name__)


@bp.get("/@<handle>")
def show_storefront(handle: str):
    return "TODO(#2): storefront", 501
