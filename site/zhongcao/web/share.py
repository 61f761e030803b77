"""Share links (/s/<code>) and the share dialog, the article view beacon, and trending for templates.

`/s/<code>` only ever redirects to a path built here with url_for from the link's stored target:
nothing in the request (path, query, headers) takes part in choosing the destination.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, url_for
from flask_login import login_required
from htmx_flask import request
from markupsafe import Markup

from zhongcao import db_session
from zhongcao.attribution import article_views, clicks, links
from zhongcao.attribution.models import TARGET_ARTICLE, TARGET_KINDS
from zhongcao.attribution.qr import qr_svg
from zhongcao.attribution.visitors import visitor_hash
from zhongcao.clock import utcnow
from zhongcao.social.trending import trending_articles
from zhongcao.web import page_cache
from zhongcao.web.auth import current_user_id
from zhongcao.web.client import client_address
from zhongcao.web.security import is_local_path
from zhongcao.web.seo import absolute_url

bp = Blueprint("share", __name__)
# The button differs only between signed-in and signed-out readers.
page_cache.register_part("share/partials/share_button.html")

TRENDING_LIMIT = 8


@bp.get("/share/<kind>/<int:target_id>")
@login_required
def show_share_dialog(kind: str, target_id: int):
    if kind not in TARGET_KINDS:
        abort(404)
    shared = links.share_link_for(db_session(), sharer_id=current_user_id(), kind=kind, target_id=target_id)
    share_url = absolute_url(url_for("share.follow_share_link", code=shared.link.code))
    context = {
        "shared": shared,
        "share_url": share_url,
        "qr": Markup(qr_svg(share_url, title=f"二维码 QR code: {share_url}")),
        "target_path": _destination_path(shared.destination),
    }
    if request.htmx.target == "share-dialog":
        return render_template("share/partials/share_dialog.html", **context)
    return render_template("share/share_page.html", **context)


# merge_slashes=False: werkzeug would otherwise answer "/s//x" with a redirect to an absolute URL built
# from the request's Host header. Anything under /s/ that is not a code is a plain 404.
@bp.get("/s/<code>", merge_slashes=False)
def follow_share_link(code: str):
    now = utcnow()
    click = clicks.record_click(
        db_session(), code=code, visitor_hash=_visitor(now), user_agent=request.user_agent.string,
        viewer_id=current_user_id(), now=now,
    )
    if click.reason == clicks.UNAVAILABLE:
        return _no_store(make_response(render_template("share/link_unavailable.html", destination=click.destination), 410))
    path = _destination_path(click.destination)
    if not is_local_path(path):
        abort(404)
    response = _no_store(redirect(path, code=302))
    if click.sets_cookie:
        window_days = int(current_app.config.get("ATTRIBUTION_WINDOW_DAYS", clicks.DEFAULT_WINDOW_DAYS))
        response.set_cookie(
            clicks.ATTRIBUTION_COOKIE,
            clicks.make_attribution_cookie(click.link, secret=current_app.config["SECRET_KEY"], now=now),
            max_age=window_days * 24 * 3600,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


@bp.get("/s/<path:rest>", merge_slashes=False)
def refuse_share_path(rest: str):
    abort(404)


@bp.get("/articles/<int:article_id>/seen")
def record_article_view(article_id: int):
    now = utcnow()
    article_views.record_article_view(
        db_session(), article_id=article_id, visitor_hash=_visitor(now), user_agent=request.user_agent.string,
        viewer_id=current_user_id(), now=now,
    )
    return _no_store(make_response("", 204))


@bp.app_template_global("trending_cards")
def trending_cards(limit: int = TRENDING_LIMIT) -> list:
    """Trending article cards, for templates that were not handed a list (the search page's empty state)."""
    return trending_articles(db_session(), limit=limit)


def _destination_path(destination: links.Destination) -> str:
    if destination.kind == TARGET_ARTICLE:
        return url_for("articles.show_article", handle=destination.handle, slug=destination.slug)
    return url_for("catalog.show_product", slug=destination.slug)


def _visitor(now) -> str:
    return visitor_hash(secret=current_app.config["SECRET_KEY"], address=client_address(),
                        user_agent=request.user_agent.string, now=now)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
