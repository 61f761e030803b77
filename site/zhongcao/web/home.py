"""What the home page shows: a feed with four tabs (latest, trending, popular, following), what is trending
(else the most read), and creators to follow. `?tab=` picks the tab and `?before=` continues a newest-first list."""
from __future__ import annotations

from flask import request

from zhongcao import db_session
from zhongcao.social import listings
from zhongcao.social import services as social
from zhongcao.social.listings import Cursor
from zhongcao.social.trending import trending_articles
from zhongcao.web.auth import current_user_id
from zhongcao.web.page_cache import cached_data

TABS = ("latest", "trending", "popular", "following")
PAGE_SIZE = 12
POPULAR_SIZE = 24
SIDEBAR_SIZE = 5
# The anonymous page, and the lists that are the same for every reader, are shared for this long at most
# (new articles show at once: the content version is part of every key); view counts and trending
# scores move without it.
FRESH_SECONDS = 60


def home_context(*, feed_only: bool = False) -> dict:
    """Template variables for main/home.html, or only those main/partials/home_feed.html needs."""
    session = db_session()
    viewer_id = current_user_id()
    tab = request.args.get("tab", "latest")
    if tab not in TABS:
        tab = "latest"
    before = Cursor.parse(request.args.get("before"))
    next_cursor = None
    if tab == "popular":
        cards = _shared("popular", lambda: listings.popular_articles(session, limit=POPULAR_SIZE))
    elif tab == "trending":
        cards = _shared("trending", lambda: trending_articles(session, limit=POPULAR_SIZE))
    else:
        if tab == "following":
            cards = (
                social.following_feed(session, user_id=viewer_id, limit=PAGE_SIZE + 1, before=before)
                if viewer_id is not None
                else []
            )
        else:
            cards = _shared(("latest", request.args.get("before")),
                            lambda: listings.latest_articles(session, limit=PAGE_SIZE + 1, before=before))
        if len(cards) > PAGE_SIZE:
            cards = cards[:PAGE_SIZE]
            next_cursor = cards[-1].cursor
    context = {
        "tab": tab,
        "cards": cards,
        "next_cursor": next_cursor,
        "is_continuation": before is not None,
        "follows_anyone": viewer_id is not None and tab == "following" and social.following_count(session, viewer_id) > 0,
        # Also the following tab's empty state, so the fragment needs them too.
        "suggested_creators": listings.suggested_creators(session, viewer_id=viewer_id, limit=SIDEBAR_SIZE),
    }
    if feed_only:
        return context
    context["trending"] = _shared("trending-sidebar", lambda: trending_articles(session, limit=SIDEBAR_SIZE))
    context["top_articles"] = [] if context["trending"] else _shared(
        "popular-sidebar", lambda: listings.popular_articles(session, limit=SIDEBAR_SIZE)
    )
    return context


def _shared(name: object, load):
    """A list every reader sees alike, loaded once per process and shared (see FRESH_SECONDS)."""
    return cached_data(("home", name), load, fresh_for=FRESH_SECONDS)
