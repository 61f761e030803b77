"""A signed-in reader opens the share dialog on an article (link, copy button, QR code), and someone
else opens that link in another browser and lands on the article with the attribution cookie set.
Headless Chromium against the live server, with the real CSP."""
from __future__ import annotations

import re
import time

import pytest
from sqlmodel import func, select

from tests.conftest import TEST_PASSWORD
from tests.social.factories import add_article
from zhongcao.attribution.clicks import ATTRIBUTION_COOKIE
from zhongcao.attribution.models import ArticleDailyViews, ShareClick

pytestmark = pytest.mark.browser

HUMAN_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def _watch_for_problems(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _views_counted(session) -> int:
    session.rollback()  # end the read transaction so the next query sees the server's commits
    return session.exec(select(func.count()).select_from(ArticleDailyViews)).one()


def test_a_reader_shares_an_article_and_a_friend_opens_the_link(live_server, page, browser, session, make_user):
    author = make_user(handle="amber_commute", display_name="Amber", is_creator=True)
    add_article(session, author, slug="commute-down-jacket", title="通勤羽绒服测评")
    add_article(session, author, slug="other-post", title="另一篇笔记")
    reader = make_user(handle="share_reader", email="share_reader@example.com")
    problems = _watch_for_problems(page)

    page.goto(live_server.url + "/signin")
    page.fill("input[name=email]", reader.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.get_by_role("button", name="登录 Sign in").click()
    page.wait_for_url(re.compile(r"/$|/@share_reader"))
    page.goto(live_server.url + "/@amber_commute/commute-down-jacket")
    page.get_by_role("link", name="分享 Share").click()

    dialog = page.locator("dialog#share-dialog[open]")
    dialog.wait_for(state="visible")
    link = dialog.locator("input.share-link").input_value()
    assert re.fullmatch(re.escape(live_server.url) + r"/s/[A-Za-z0-9_-]{8,10}", link)
    assert dialog.locator("button[data-copy]").get_attribute("data-copy") == link
    assert dialog.locator("svg.share-qr path").count() >= 1
    assert "扫码分享到微信" in dialog.inner_text()
    dialog.get_by_role("button", name="关闭 Close").click()
    page.locator("dialog#share-dialog[open]").wait_for(state="detached")
    assert problems == []

    friend = browser.new_context(locale="zh-CN", user_agent=HUMAN_AGENT)
    try:
        friend_page = friend.new_page()
        friend_problems = _watch_for_problems(friend_page)
        friend_page.goto(link)
        friend_page.wait_for_url(live_server.url + "/@amber_commute/commute-down-jacket")
        assert friend_page.locator("h1").inner_text() == "通勤羽绒服测评"
        cookies = {cookie["name"]: cookie for cookie in friend.cookies()}
        assert ATTRIBUTION_COOKIE in cookies and cookies[ATTRIBUTION_COOKIE]["httpOnly"]
        assert friend_problems == []
        # The page's beacon counts the friend's view a second after load.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not _views_counted(session):
            time.sleep(0.2)
    finally:
        friend.close()

    session.rollback()
    assert session.exec(select(func.count()).select_from(ShareClick)).one() == 1
    # The friend's view counted; the sharer's own headless browser is a bot by its user agent.
    assert session.exec(select(ArticleDailyViews.views)).all() == [1]
