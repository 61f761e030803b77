"""Sitemap and Atom feeds."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("seo", __name__)
