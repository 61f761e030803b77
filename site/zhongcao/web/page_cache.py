"""Serve anonymous readers pages from a per-process cache keyed by (path, content version).

Anonymous pages carry nothing personal (no CSRF token, no user menu), so one rendering serves
every anonymous reader until the content version moves; see zhongcao.pagecache.services.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Response, current_app, session as cookie_session
from flask_login import current_user
from htmx_flask import request

from zhongcao import db_session
from zhongcao.pagecache.services import PageCache, current_version

T = TypeVar("T")



def _pages() -> PageCache:
    # One cache per app (so tests, each with its own app and database, never share pages).
    return current_app.extensions.setdefault("zhongcao.page_cache", PageCache(max_entries=1024))


def _page_data() -> PageCache:
    return current_app.extensions.setdefault("zhongcao.page_data_cache", PageCache(max_entries=1024))


def cached_data(key: object, load: Callable[[], T]) -> T:
    """What load() returns, kept per process until the content version moves (for every reader).

    Only for data that is the same for every viewer, such as an article with its product cards filled.
    """
    version = current_version(db_session())
    data = _page_data().get(key, version)
    if data is None:
        data = load()
        _page_data().put(key, version, data)
    return data


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
