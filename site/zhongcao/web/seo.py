"""What search engines and feed readers fetch: /sitemap.xml, /robots.txt and each creator's Atom feed.

XML is built with ElementTree, which escapes every text node and attribute: user text (titles,
summaries, names) never meets string concatenation.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from zhongcao import db_session
from zhongcao.errors import NotFound
from zhongcao.social import listings
from zhongcao.social.storefront import get_profile

bp = Blueprint("seo", __name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 20


def site_url() -> str:
    """The site's origin without a trailing slash: SITE_URL when configured, else the request's host."""
    configured = (current_app.config.get("SITE_URL") or "").strip().rstrip("/")
    return configured or request.host_url.rstrip("/")


@bp.app_template_global("absolute_url")
def absolute_url(path: str) -> str:
    """An absolute URL for a local path, for canonical links, OpenGraph and feeds."""
    return site_url() + (path if path.startswith("/") else "/" + path)


def article_path(handle: str, slug: str) -> str:
    """/@handle/slug: the article page's address (the articles blueprint serves it)."""
    return f"/@{quote(handle, safe='')}/{quote(slug, safe='')}"


def storefront_path(handle: str) -> str:
    return url_for("creators.show_storefront", handle=handle)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _xml_response(root: ET.Element, mimetype: str) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type=f"{mimetype}; charset=utf-8")


@bp.get("/sitemap.xml")
def show_sitemap():
    session = db_session()
    # Plain tag names under an xmlns attribute: ET.register_namespace would change a process-wide table,
    # and ET's default_namespace option refuses the unqualified attributes Atom uses.
    urlset = ET.Element("urlset", {"xmlns": SITEMAP_NS})

    def add(path: str, lastmod: datetime | None = None) -> None:
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = absolute_url(path)
        if lastmod is not None:
            ET.SubElement(url, "lastmod").text = _iso(lastmod)

    add(url_for("main.show_home"))
    for handle, slug, changed in listings.public_article_locations(session):
        add(article_path(handle, slug), changed)
    for handle, changed in listings.creator_locations(session):
        add(storefront_path(handle), changed)
    for slug, changed in listings.active_product_locations(session):
        add(f"/products/{quote(slug, safe='')}", changed)
    return _xml_response(urlset, "application/xml")


@bp.get("/robots.txt")
def show_robots():
    body = render_template("seo/robots.txt", sitemap_url=absolute_url(url_for("seo.show_sitemap")))
    return Response(body, content_type="text/plain; charset=utf-8")


@bp.get("/@<handle>/feed.xml")
def show_creator_feed(handle: str):
    session = db_session()
    try:
        creator = get_profile(session, handle)
    except NotFound:
        abort(404)
    if not creator.is_creator:
        abort(404)
    cards = listings.creator_articles(session, creator_id=creator.id, limit=FEED_SIZE)
    return _xml_response(_atom_feed(creator, cards), "application/atom+xml")


def _atom_feed(creator, cards: list[listings.ArticleCard]) -> ET.Element:
    def sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attributes)
        if text is not None:
            element.text = text
        return element

    page_url = absolute_url(storefront_path(creator.handle))
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": "zh-CN"})
    sub(feed, "id", page_url)
    sub(feed, "title", f"{creator.display_name} (@{creator.handle}) · {current_app.config['SITE_NAME']}")
    if creator.bio:
        sub(feed, "subtitle", creator.bio[:300])
    changes = [_changed(card.article) for card in cards] or [creator.updated_at]
    sub(feed, "updated", _iso(max(changes)))
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    sub(feed, "link", rel="self", type="application/atom+xml", href=absolute_url(request.path))
    author = sub(feed, "author")
    sub(author, "name", creator.display_name)
    sub(author, "uri", page_url)
    host = urlsplit(site_url()).hostname or "localhost"
    for card in cards:
        article = card.article
        entry = sub(feed, "entry")
        # A tag URI survives slug changes, so readers do not see an edited article as a new one.
        sub(entry, "id", f"tag:{host},{article.published_at:%Y-%m-%d}:article/{article.id}")
        sub(entry, "title", article.title)
        sub(entry, "link", rel="alternate", type="text/html", href=absolute_url(article_path(creator.handle, article.slug)))
        sub(entry, "published", _iso(article.published_at))
        sub(entry, "updated", _iso(_changed(article)))
        sub(entry, "summary", article.summary or article.title)
        if article.has_commission:
            sub(entry, "category", term="ad", label="广告 Ad")
    return feed


def _changed(article) -> datetime:
    return max(article.updated_at, article.published_at)
