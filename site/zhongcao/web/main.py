"""Home page, health check, help pages, and what every template can use."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template
from sqlalchemy import text

from zhongcao import db_session
from zhongcao import formatting
from zhongcao.web.page_cache import cached_page

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def show_health():
    try:
        db_session().exec(text("SELECT 1")).one()
    except Exception:  # any database failure means "not healthy", whatever the driver raises
        current_app.logger.exception("health check failed")
        return {"status": "error", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.get("/")
def show_home():
    from htmx_flask import request

    from zhongcao.web.home import FRESH_SECONDS, home_context

    # Tabs and "older" links swap only #home-feed; history restores and boosts need the whole page.
    if request.htmx.target == "home-feed" and not request.htmx.history_restore_request:
        return render_template("main/partials/home_feed.html", **home_context(feed_only=True))
    # Anonymous visitors share one rendering (the most visited page; ~8 ms to render): new content shows
    # at once, view counts and trending within a minute. Signed-in readers get their own (following tab).
    return cached_page(lambda: render_template("main/home.html", **home_context()), fresh_for=FRESH_SECONDS)


def install_template_globals(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = formatting.yuan
    app.jinja_env.filters["bp_percent"] = formatting.bp_percent
    app.jinja_env.filters["datetime_zh"] = formatting.datetime_zh
    app.jinja_env.globals["site_name"] = app.config["SITE_NAME"]
