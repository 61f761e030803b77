"""A reader finds a down jacket: types 羽绒 in the header box, picks a suggestion, filters by price,
opens the product. Headless Chromium against the live server, with the real index and CSP."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from zhongcao.catalog import services as catalog

pytestmark = pytest.mark.browser


@pytest.fixture
def jackets(session, make_user, make_shop):
    merchant = make_user(is_merchant=True, handle="north_shop")
    shop = make_shop(owner=merchant, name="北极小店")

    def add(slug: str, title: str, price_fen: int):
        return catalog.create_product(session, actor_id=merchant.id, shop_id=shop.id, slug=slug, title=title,
                                      price_fen=price_fen, stock=8, commission_bp=1000)

    return {
        "cheap": add("light-down-jacket", "轻薄羽绒服 Light down jacket", 29900),
        "dear": add("light-down-jacket-pro", "轻薄羽绒服 Pro 长款 Light down jacket Pro", 89900),
        "other": add("electric-kettle", "电水壶 Electric kettle", 12900),
    }


def test_a_reader_searches_picks_a_suggestion_filters_by_price_and_opens_the_product(live_server, page, jackets):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(live_server.url + "/")
    box = page.get_by_role("searchbox", name="搜索 Search").first
    box.click()
    box.press_sequentially("羽绒", delay=60)
    suggestions = page.locator("#search-suggestions a.suggestion")
    suggestions.first.wait_for(state="visible")
    assert 2 <= suggestions.count() <= 8
    assert "电水壶 Electric kettle" not in suggestions.all_inner_texts()
    suggestions.filter(has_text=re.compile(r"^轻薄羽绒服 Light down jacket$")).click()

    page.wait_for_url(re.compile(r"/search\?q="))
    results = page.locator("#search-results")
    cards = results.locator(".card-title")
    expect(cards).to_have_count(2)
    assert sorted(cards.all_inner_texts()) == ["轻薄羽绒服 Light down jacket", "轻薄羽绒服 Pro 长款 Light down jacket Pro"]

    page.locator("#search-max").fill("500")
    page.locator("#search-max").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=[^&]+&type=product&max=500$"))
    expect(cards).to_have_count(1)
    assert cards.all_inner_texts() == ["轻薄羽绒服 Light down jacket"]
    assert "长款" not in results.inner_text()

    cards.first.click()
    page.wait_for_url(re.compile(r"/products/light-down-jacket$"))
    assert "轻薄羽绒服 Light down jacket" in page.locator("h1").inner_text()
    assert problems == []
