"""Product pages and the merchant's product management."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog", __name__)


@bp.get("/shop/products")
def list_my_products():
    return "TODO(#2): merchant products", 501
