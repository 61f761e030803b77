"""The search page (/search: tabs, product filters, sort, pages) and the header box's suggestions.

Everything is a plain GET: the page works without JavaScript, and with htmx the tabs, filters,
sort and pager swap only #search-results (GET /search with HX-Target: search-results).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from htmx_flask import make_response, request

from zhongcao import db_session
from zhongcao.catalog import services as catalog
from zhongcao.catalog.prices import yuan_text
from zhongcao.search import KINDS, SUGGESTION_LIMIT, SearchBackend, SearchQuery
from zhongcao.search.queries import PRICE_SORTS, article_labels, clean_text, parse_search_args, run_search
from zhongcao.web import messages

bp = Blueprint("search", __name__)

RESULTS = "search-results"
TAB_LABELS = {"all": "全部 All", "product": "商品 Products", "article": "笔记 Articles", "creator": "达人 Creators"}
SORT_LABELS = {
    "relevance": "相关度 Relevance",
    "newest": "最新 Newest",
    "popular": "最热 Popular",
    "price_asc": "价格从低到高 Price ↑",
    "price_desc": "价格从高到低 Price ↓",
}
FIELD_LABELS = {"min": "最低价 Min price", "max": "最高价 Max price"}


def search_backend() -> SearchBackend:
    return current_app.extensions["zhongcao.search"]


@bp.get("/search")
def show_results():
    session = db_session()
    categories = catalog.list_categories(session)
    parsed = parse_search_args(request.args, categories={category.slug for category in categories})
    page = run_search(search_backend(), parsed.query)
    query = page.results.query
    context = {
        "page": page,
        "labels": article_labels(session, [*page.results.hits, *(hit for hits in page.popular.values() for hit in hits)]),
        "query": query,
        "results": page.results,
        "notes": [_note_text(note.field, note.code) for note in parsed.notes],
        "categories": categories,
        "tabs": _tabs(page.results.counts, query),
        "sorts": [(key, label) for key, label in SORT_LABELS.items() if query.kind in ("all", "product") or key not in PRICE_SORTS],
        "link": lambda **changes: search_link(query, **changes),
        "price_value": lambda fen: _yuan_param(fen) or "",
        "has_filters": query != SearchQuery(text=query.text, page=query.page),
        "header_query": query.text,
    }
    if request.htmx.target == RESULTS and not request.htmx.history_restore_request:
        html = render_template("search/partials/search_results.html", **context)
        # The address bar shows the tidy URL (no empty fields, no defaults), not the raw form submission.
        return make_response(html, push_url=search_link(query))
    return render_template("search/search_page.html", **context)


@bp.get("/search/suggest")
def suggest():
    text, _ = clean_text(request.args.get("q"))
    suggestions = search_backend().suggest(text, limit=SUGGESTION_LIMIT) if text else []
    return render_template("search/partials/search_suggestions.html", suggestions=suggestions[:SUGGESTION_LIMIT])


def search_link(query: SearchQuery, **changes: object) -> str:
    """The /search URL for `query` with some arguments changed, leaving out every default value."""
    values: dict[str, object] = {
        "q": query.text,
        "type": query.kind,
        "category": query.category,
        "min": _yuan_param(query.price_min_fen),
        "max": _yuan_param(query.price_max_fen),
        "in_stock": "1" if query.in_stock else None,
        "sort": query.sort,
        "page": query.page,
    }
    values.update(changes)
    defaults = {"type": "all", "sort": "relevance", "page": 1}
    kept = {key: value for key, value in values.items() if value not in (None, "", False) and defaults.get(key) != value}
    return url_for("search.show_results", **kept)


def _tabs(counts: dict[str, int], query: SearchQuery) -> list[dict]:
    tabs = []
    for kind in ("all",) + KINDS:
        count = sum(counts.get(each, 0) for each in KINDS) if kind == "all" else counts.get(kind, 0)
        changes: dict[str, object] = {"type": kind, "page": None}
        if kind != "product":
            # Product filters would pull the reader straight back to the product tab.
            changes.update(category=None, min=None, max=None, in_stock=None)
            if query.sort in PRICE_SORTS:
                changes["sort"] = None
        tabs.append({"kind": kind, "label": TAB_LABELS[kind], "count": count, "href": search_link(query, **changes)})
    return tabs


def _yuan_param(fen: int | None) -> str | None:
    if fen is None:
        return None
    text = yuan_text(fen)
    return text[:-3] if text.endswith(".00") else text


def _note_text(field: str, code: str) -> str:
    label = FIELD_LABELS.get(field)
    return f"{label}：{messages.text(code)}" if label else messages.text(code)
