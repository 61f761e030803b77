"""Serve anonymous readers pages from a per-process cache keyed by (path, content version).

Anonymous pages carry nothing personal (no CSRF token, no user menu), so one rendering serves
every anonymous reader until the content version moves; see zhongcao.pagecache.services.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, session as cookie_session
from flask_login import current_user
from htmx_flask import request

from zhongcao import db_session
from zhongcao.pagecache.services import PageCache, current_version



def _pages() -> PageCache:
    # One cache per app (so tests, each with its own app and database, never share pages).
    return current_app.extensions.setdefault("zhongcao.page_cache", PageCache(max_entries=1024))


def _cacheable() -> bool:
    # Flashed messages are personal; htmx requests get fragments, not the page.
    return not current_user.is_authenticated and "_flashes" not in cookie_session and not request.htmx


def cached_page(render: Callable[[], str]) -> Response:
    """Return render()'s HTML, from the cache for anonymous readers when the content has not changed."""
    if not _cacheable():
        return Response(render(), mimetype="text/html")
    version = current_version(db_session())
    pages = _pages()
    body = pages.get(request.full_path, version)
    if body is None:
        body = render().encode("utf-8")
        pages.put(request.full_path, version, body)
    response = Response(body, mimetype="text/html")
    response.headers["Vary"] = "Cookie"
    return response
