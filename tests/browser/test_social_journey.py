"""Issue 3's social journey in headless Chromium with CSRF and the CSP on: a signed-in reader likes
and collects an article and finds it on /me/collections, then posts a comment and a reply without
a page reload; the author's header shows the unread count."""
from __future__ import annotations

import pytest

from tests.browser.session_steps import sign_in, watch_for_problems
from tests.social.factories import add_article

pytestmark = pytest.mark.browser


def test_reader_likes_collects_comments_and_replies(browser, live_server, session, make_user):
    creator = make_user(handle="lina_writes", is_creator=True, display_name="丽娜")
    reader = make_user(handle="reader_one", display_name="小读者")
    add_article(session, creator, slug="winter-commute", title="冬季通勤两件套", body_html="<p>通勤路上最常用的两件。</p>")
    base = live_server.url

    page = browser.new_context(locale="zh-CN").new_page()
    page.set_default_timeout(10_000)
    problems = watch_for_problems(page)
    sign_in(page, base, reader.email)
    page.goto(f"{base}/@lina_writes/winter-commute")

    page.locator("#like-button button").click()
    page.locator("#like-button").get_by_text("已赞 Liked").wait_for()
    assert page.locator("#like-button .reaction-count").inner_text() == "1"
    page.locator("#collect-button button").click()
    page.locator("#collect-button").get_by_text("已收藏 Collected").wait_for()
    assert page.locator("#collect-button .reaction-count").inner_text() == "1"

    page.fill("#comment-body-new", "请问 **羽绒服** 会不会太热？")
    page.locator("#comment-section form.comment-form button[type=submit]").first.click()
    comment = page.locator(".comment-thread").filter(has_text="会不会太热")
    comment.wait_for()
    assert comment.locator("strong").inner_text() == "羽绒服"
    page.locator("#comment-section").get_by_text("评论 Comments 1").wait_for()

    comment.locator("details.comment-reply summary").click()
    comment.locator("details.comment-reply textarea").fill("补充：地铁里会热，外面刚好")
    comment.locator("details.comment-reply button[type=submit]").click()
    reply = page.locator(".comment-replies .comment-body").get_by_text("补充：地铁里会热，外面刚好")
    reply.wait_for()
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # still the same page load

    page.goto(f"{base}/me/collections")
    page.get_by_role("link", name="冬季通勤两件套").wait_for()

    author = browser.new_context(locale="zh-CN").new_page()
    author.set_default_timeout(10_000)
    author_problems = watch_for_problems(author)
    sign_in(author, base, creator.email)
    author.locator("#notification-count .unread-badge").wait_for()
    assert author.locator("#notification-count .unread-badge").inner_text() == "2"  # one like, one collect
    author.locator("#notification-count").click()
    author.get_by_text("赞了你的笔记").wait_for()
    assert author.locator("#notification-count .unread-badge").count() == 0

    assert problems == []
    assert author_problems == []
