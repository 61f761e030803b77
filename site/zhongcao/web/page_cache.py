"""Serve pages from per-process caches keyed by (path, content version).

Anonymous pages carry nothing personal (no CSRF token, no user menu), so one rendering serves
every anonymous reader until the content version moves; see zhongcao.pagecache.services.

Signed-in readers of a page that opts in (`cached_page(render, personal_parts=True)`) get the same
anonymous rendering as a *shell*: every personal part of it (the account menu, the CSRF header,
follow / like / collect buttons) is written in the templates as `{{ personal("partial.html", ...) }}`,
which the shell keeps as a marker and the context to render it with. Each signed-in request renders
only those small partials for its reader and splices them in, instead of the whole 25 KB page.

A part registered with `register_part` is not even rendered per reader: its HTML is kept for the
reader state it depends on, and readers in the same state share it. The state is explicit: the
`is_authenticated` flag, the current_user columns the part declares in `reads`, and what its `state`
loader returns (e.g. liked / collected and the counts). The part is rendered against a stand-in user
that has only those columns, so a template that starts reading more fails loudly instead of sharing
one reader's HTML with another; CSRF tokens are a placeholder swapped for the reader's own token.
"""
from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, render_template, session as cookie_session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from htmx_flask import request
from markupsafe import Markup

from zhongcao.pagecache.services import PageCache, current_version, latest_version

T = TypeVar("T")

# Markers no content can contain: random per process, and they never leave it.
_PART_MARKER = f"<!--zc-personal-{secrets.token_hex(12)}-->"
_TOKEN_PLACEHOLDER = f"zc-csrf-{secrets.token_hex(12)}"
_shell_serials = itertools.count(1)


@dataclass(frozen=True)
class PartRule:
    """How a personal part may be shared between readers in the same state (see register_part)."""

    reads: tuple[str, ...] = ()
    state: Callable[..., dict[str, Hashable]] | None = None
    per_page: bool = True


_RULES: dict[str, PartRule] = {}


def register_part(
    template_name: str,
    *,
    reads: tuple[str, ...] = (),
    state: Callable[..., dict[str, Hashable]] | None = None,
    per_page: bool = True,
) -> None:
    """Let readers in the same state share `template_name`'s rendering.

    reads: the current_user attributes the part shows (besides is_authenticated); readers who differ in
        any of them never share. state: called with the part's context, returns the rest of what it
        depends on for this reader (hashable values), passed to the template too. per_page=False: the
        part shows nothing of the page it is on (the account menu), so one rendering serves every page.
    """
    _RULES[template_name] = PartRule(reads=reads, state=state, per_page=per_page)


class UndeclaredRead(RuntimeError):
    """A shared part read a current_user attribute its register_part call did not declare."""


class _ReaderView:
    """The reader as a shared part sees them: signed in or not, and the declared columns only."""

    def __init__(self, template_name: str, reader: Any, reads: tuple[str, ...]) -> None:
        self._template_name = template_name
        self.is_authenticated = bool(reader.is_authenticated)
        self.is_anonymous = not self.is_authenticated
        self.is_active = self.is_authenticated
        values = {name: getattr(reader, name) for name in reads}
        self.__dict__.update(values)
        self.key = (self.is_authenticated, *values.values())

    def __getattr__(self, name: str) -> Any:
        raise UndeclaredRead(f"{self._template_name} reads current_user.{name}: add it to reads=")


@dataclass(frozen=True)
class PageShell:
    """A page rendered for nobody, split at its personal parts; len(segments) == len(parts) + 1."""

    segments: tuple[str, ...]
    parts: tuple[tuple[str, dict[str, Any]], ...]
    # Tells the shell's part renderings apart from those of earlier shells of the same page.
    serial: int = field(default_factory=lambda: next(_shell_serials))

    def fill(self) -> str:
        """The page for the current reader: the shell with each personal part rendered for them."""
        app = current_app._get_current_object()
        reader = current_user._get_current_object()
        # What render_template would add to every part (context processors), worked out once per page.
        base: dict[str, Any] = {}
        app.update_template_context(base)
        pieces = [self.segments[0]]
        for index, ((template_name, context), segment) in enumerate(zip(self.parts, self.segments[1:])):
            rule = _RULES.get(template_name)
            if rule is None:
                html = app.jinja_env.get_template(template_name).render({**base, **context})
            else:
                scope = (self.serial, index) if rule.per_page else 0
                html = _shared_part(template_name, rule, context, reader, scope, lambda: base)
            pieces.append(html)
            pieces.append(segment)
        return "".join(pieces)


def _shared_part(
    template_name: str, rule: PartRule, context: dict[str, Any], reader: Any, scope: Hashable,
    template_context: Callable[[], dict[str, Any]],
) -> str:
    """The part as readers in this reader's state share it (rendered on first use), with the reader's
    own CSRF token. template_context() gives what render_template would add (context processors);
    it is only called when the part has to be rendered."""
    state = rule.state(**context) if rule.state else {}
    view = _ReaderView(template_name, reader, rule.reads)
    key = (template_name, view.key, tuple(sorted(state.items())))
    parts = _part_renderings()
    html = parts.get(key, scope)
    if html is None:
        template = current_app.jinja_env.get_template(template_name)
        base = template_context()
        shared = {**base, **context, **state, "current_user": view, "csrf_token": _token_placeholder}
        try:
            html = template.render(shared)
        except UndeclaredRead:
            # A template bug, not the reader's: render it for this reader alone and say so.
            current_app.logger.exception("personal part %s is not shareable; rendering it per reader", template_name)
            return template.render({**base, **context, **state})
        parts.put(key, scope, html)
    if _TOKEN_PLACEHOLDER in html:
        html = html.replace(_TOKEN_PLACEHOLDER, generate_csrf())
    return html


def _template_context() -> dict[str, Any]:
    context: dict[str, Any] = {}
    current_app.update_template_context(context)
    return context


def _token_placeholder() -> str:
    return _TOKEN_PLACEHOLDER


def personal(template_name: str, **context: Any) -> Markup:
    """Template global: a part of the page that depends on who is reading.

    Rendered in place on an ordinary render; while a shell is being rendered, recorded and replaced by
    a marker. The partial sees only `context` and the template globals (current_user, csrf_token, …).
    A part that shows nothing of its page (register_part(per_page=False): the account menu) comes from
    the renderings shared by readers in the same state on ordinary renders too.
    """
    recorded = g.get("_personal_parts")
    if recorded is not None:
        recorded.append((template_name, context))
        return Markup(_PART_MARKER)
    rule = _RULES.get(template_name)
    if rule is not None and not rule.per_page:
        reader = current_user._get_current_object()
        return Markup(_shared_part(template_name, rule, context, reader, 0, _template_context))
    return Markup(render_template(template_name, **context))


def install(app: Flask) -> None:
    app.jinja_env.globals["personal"] = personal
    # The account menu and the htmx CSRF header show nothing of the page they are on.
    register_part("partials/account_nav.html", reads=("handle", "is_creator", "is_merchant", "is_admin"), per_page=False)
    register_part("partials/csrf_header.html", per_page=False)


def _part_renderings() -> PageCache:
    return current_app.extensions.setdefault("zhongcao.part_renderings", PageCache(max_entries=4096))


def _shells() -> PageCache:
    return current_app.extensions.setdefault("zhongcao.page_shells", PageCache(max_entries=1024))


def _pages() -> PageCache:
    # One cache per app (so tests, each with its own app and database, never share pages).
    return current_app.extensions.setdefault("zhongcao.page_cache", PageCache(max_entries=1024))


def _page_data() -> PageCache:
    return current_app.extensions.setdefault("zhongcao.page_data_cache", PageCache(max_entries=1024))


def _version() -> int:
    """The content version: within the request's transaction when it has one, else the latest committed."""
    session = g.get("_db_session")
    if session is not None and session.in_transaction():
        return current_version(session)
    return latest_version(current_app.extensions["zhongcao.engine"])


def cached_data(key: object, load: Callable[[], T], *, fresh_for: int | None = None) -> T:
    """What load() returns, kept per process until the content version moves (for every reader).

    Only for data that is the same for every viewer, such as an article with its product cards filled.
    fresh_for: the data also changes without a content change (view counts, trending scores), so it
    serves for at most that many seconds.
    """
    version = _version()
    if fresh_for is not None:
        key = (key, int(_clock() // fresh_for))
    data = _page_data().get(key, version)
    if data is None:
        data = load()
        _page_data().put(key, version, data)
    return data


def _shares_nothing_personal() -> bool:
    # Flashed messages are personal; htmx requests get fragments, not the page.
    return "_flashes" not in cookie_session and not request.htmx


def cached_page(render: Callable[[], str], *, personal_parts: bool = False, fresh_for: int | None = None) -> Response:
    """Return render()'s HTML, from the cache when the content has not changed.

    Anonymous readers get whole cached pages. With `personal_parts`, signed-in readers get the cached
    shell with their own parts filled in; the view passes it only when render() shows every reader
    the same page apart from `personal(...)` parts (an author seeing their own article does not).
    fresh_for: the page also shows what changes without a content change (view counts, trending), so
    a rendering serves for at most that many seconds.
    """
    if not _shares_nothing_personal():
        return Response(render(), mimetype="text/html")
    if current_user.is_authenticated:
        shell = _shell(render) if personal_parts else None
        return Response(shell.fill() if shell else render(), mimetype="text/html")
    version = _version()
    pages = _pages()
    key = request.full_path if fresh_for is None else (request.full_path, int(_clock() // fresh_for))
    body = pages.get(key, version)
    if body is None:
        had_token = "csrf_token" in g
        html = render()
        if not had_token and "csrf_token" in g:
            # A CSRF token belongs to one visitor's session: a page holding one is never shared.
            current_app.logger.error("anonymous page %s holds a CSRF token; not caching it", request.full_path)
            return Response(html, mimetype="text/html")
        body = html.encode("utf-8")
        pages.put(key, version, body)
    response = Response(body, mimetype="text/html")
    response.headers["Vary"] = "Cookie"
    return response


_clock = time.monotonic  # a seam for tests of fresh_for


def _shell(render: Callable[[], str]) -> PageShell | None:
    version = _version()
    shells = _shells()
    shell = shells.get(request.full_path, version)
    if shell is None:
        shell = _render_shell(render)
        if shell is not None:
            shells.put(request.full_path, version, shell)
    return shell


def _render_shell(render: Callable[[], str]) -> PageShell | None:
    """render() as an anonymous reader would see it, with the personal parts left as markers.

    Rendering as nobody means anything personal written outside `personal(...)` shows its anonymous
    form rather than one reader's data; a CSRF token outside the parts is refused outright.
    """
    reader, had_token = g.get("_login_user"), "csrf_token" in g
    parts: list[tuple[str, dict[str, Any]]] = []
    g._personal_parts = parts
    g._login_user = current_app.login_manager.anonymous_user()
    try:
        html = render()
    finally:
        g.pop("_personal_parts", None)
        g._login_user = reader
    segments = html.split(_PART_MARKER)
    if (not had_token and "csrf_token" in g) or len(segments) != len(parts) + 1:
        # A template bug, not the reader's: serve a whole rendering and say so in the log.
        current_app.logger.error("page shell for %s is not shareable; rendering it whole", request.full_path)
        g.pop("csrf_token", None)
        return None
    return PageShell(tuple(segments), tuple(parts))
