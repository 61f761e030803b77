"""sitemap.xml, robots.txt and the creators' Atom feeds: valid XML, the right URLs, escaped user text."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.social.factories import add_article, add_draft
from zhongcao.catalog.models import PRODUCT_HIDDEN

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"
NASTY = '<script>&"'


def test_sitemap_lists_home_public_articles_storefronts_and_active_products(client, session, make_user, make_product):
    creator = make_user(handle="MeiMei", is_creator=True)
    make_user(handle="JustReading")
    add_article(session, creator, slug="cleanser-review")
    add_draft(session, creator, slug="secret-draft")
    add_article(session, creator, slug="hidden-one", is_hidden=True)
    make_product(slug="gentle-cleanser")
    make_product(slug="withdrawn-thing", status=PRODUCT_HIDDEN)

    response = client.get("/sitemap.xml")
    root = ET.fromstring(response.data)
    locations = {url.findtext(f"{SM}loc"): url.findtext(f"{SM}lastmod") for url in root.iter(f"{SM}url")}

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert root.tag == f"{SM}urlset"
    assert set(locations) == {
        "http://localhost/",
        "http://localhost/@MeiMei/cleanser-review",
        "http://localhost/@MeiMei",
        "http://localhost/products/gentle-cleanser",
    }
    assert locations["http://localhost/@MeiMei/cleanser-review"] == "2025-03-01T08:00:00Z"


@pytest.mark.parametrize("app_overrides", [{"SITE_URL": "https://zhongcao.example"}])
def test_sitemap_and_robots_use_the_configured_site_url(client):
    root = ET.fromstring(client.get("/sitemap.xml").data)
    robots = client.get("/robots.txt")

    assert [loc.text for loc in root.iter(f"{SM}loc")] == ["https://zhongcao.example/"]
    assert robots.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Sitemap: https://zhongcao.example/sitemap.xml" in robots.get_data(as_text=True)


def test_creator_feed_is_atom_with_the_latest_public_articles(client, session, make_user):
    creator = make_user(handle="MeiMei", display_name="美美", is_creator=True)
    for n in range(22):
        add_article(session, creator, minutes=n, slug=f"post-{n:02d}", summary=f"摘要 {n}")
    add_draft(session, creator, slug="secret-draft")

    response = client.get("/@meimei/feed.xml")
    feed = ET.fromstring(response.data)
    entries = feed.findall(f"{ATOM}entry")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert feed.tag == f"{ATOM}feed"
    assert len(entries) == 20
    newest = entries[0]
    assert newest.find(f"{ATOM}link").get("href") == "http://localhost/@MeiMei/post-21"
    assert newest.findtext(f"{ATOM}summary") == "摘要 21"
    assert newest.findtext(f"{ATOM}updated") == "2025-03-01T08:21:00Z"
    assert feed.findtext(f"{ATOM}updated") == "2025-03-01T08:21:00Z"
    assert feed.find(f"{ATOM}author").findtext(f"{ATOM}name") == "美美"
    assert "secret-draft" not in response.get_data(as_text=True)


def test_feed_and_sitemap_escape_user_text(client, session, make_user):
    creator = make_user(handle="MeiMei", display_name=NASTY, bio=NASTY, is_creator=True)
    add_article(session, creator, slug="nasty", title=NASTY, summary=NASTY)

    feed_body = client.get("/@MeiMei/feed.xml").get_data(as_text=True)
    feed = ET.fromstring(feed_body)
    sitemap = ET.fromstring(client.get("/sitemap.xml").data)

    assert feed.find(f"{ATOM}entry").findtext(f"{ATOM}title") == NASTY
    assert feed.find(f"{ATOM}entry").findtext(f"{ATOM}summary") == NASTY
    assert feed.find(f"{ATOM}author").findtext(f"{ATOM}name") == NASTY
    assert "<script>" not in feed_body
    assert "&lt;script&gt;&amp;" in feed_body
    assert "http://localhost/@MeiMei/nasty" in [loc.text for loc in sitemap.iter(f"{SM}loc")]


def test_feeds_exist_only_for_creators(client, make_user):
    make_user(handle="JustReading")

    assert client.get("/@JustReading/feed.xml").status_code == 404
    assert client.get("/@nobody_here/feed.xml").status_code == 404


def test_robots_points_to_the_sitemap(client):
    body = client.get("/robots.txt").get_data(as_text=True)

    assert "User-agent: *" in body
    assert "Sitemap: http://localhost/sitemap.xml" in body
