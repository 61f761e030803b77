"""Issue 2's journey in headless Chromium: a creator writes a guide with two product blocks and a
live preview, publishes it; a reader sees both cards with prices and the 广告 label, follows the
creator and finds the article in the Following feed."""
from __future__ import annotations

import re

import pytest

from tests.browser.session_steps import sign_in, watch_for_problems

pytestmark = pytest.mark.browser


def test_creator_publishes_a_guide_and_a_follower_finds_it(browser, live_server, make_user, make_product):
    creator = make_user(handle="lina_writes", is_creator=True, display_name="丽娜")
    reader = make_user(handle="reader_one")
    jacket = make_product(slug="light-down-jacket", title="轻薄羽绒服 男女同款", price_fen=59900, commission_bp=1500)
    flask = make_product(slug="steel-flask-500", title="不锈钢保温杯 500ml", price_fen=12900, commission_bp=800)
    base = live_server.url

    writer = browser.new_context(locale="zh-CN").new_page()
    writer_problems = watch_for_problems(writer)
    sign_in(writer, base, creator.email)
    writer.goto(f"{base}/write")
    writer.fill("#title", "冬季通勤两件套")
    writer.select_option("#kind", "guide")
    body = writer.locator("#body_md")
    body.press_sequentially("通勤路上最常用的两件。\n\n::: product light-down-jacket\ncaption: 轻到忘记它在身上\n:::\n")
    preview = writer.locator("#article-preview")
    preview.get_by_text(jacket.title).wait_for()
    body.press_sequentially("\n::: product steel-flask-500\nrating: 4.5\n:::\n")
    preview.get_by_text(flask.title).wait_for()
    writer.click("button[name=action][value=publish]")
    writer.wait_for_url(re.compile(rf"{re.escape(base)}/@lina_writes/[a-z0-9-]+$"))
    article_url = writer.url
    assert writer_problems == []

    shopper = browser.new_context(locale="zh-CN").new_page()
    shopper_problems = watch_for_problems(shopper)
    sign_in(shopper, base, reader.email)
    shopper.goto(article_url)
    cards = shopper.locator(".product-block")
    assert cards.count() == 2
    page_text = shopper.locator("main").inner_text()
    assert "¥599.00" in page_text and "¥129.00" in page_text
    assert shopper.locator(".article-disclosure .ad-label").inner_text().startswith("广告")
    shopper.locator("#follow-button button").click()
    shopper.locator("#follow-button").get_by_text("已关注").wait_for()
    shopper.goto(f"{base}/?tab=following")
    assert shopper.get_by_text("冬季通勤两件套").count() >= 1
    assert shopper_problems == []
