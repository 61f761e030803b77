"""Routes for likes, collections, comments, moderation and notifications: each fragment route with
htmx and as a plain page or redirect, and who may do what."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.social.factories import add_article
from zhongcao.clock import utcnow
from zhongcao.social import comments, notifications, reactions
from zhongcao.social.models import Comment, Notification


def htmx(target: str) -> dict:
    return {"HX-Request": "true", "HX-Target": target}


def _html(response) -> str:
    return response.get_data(as_text=True)


def reread(session):
    """The app wrote through its own session: end the test's read snapshot and forget loaded rows."""
    session.rollback()
    session.expire_all()
    return session


def unread(session, user) -> int:
    return notifications.unread_count(reread(session), recipient_id=user.id)


@pytest.fixture
def creator(make_user):
    return make_user(is_creator=True, handle="meimei", display_name="美美")


@pytest.fixture
def article(session, creator):
    return add_article(session, creator, slug="fang-shai", title="防晒霜横评")


@pytest.fixture
def reader(client, make_user, sign_in_as):
    user = make_user(handle="reader", display_name="读者")
    sign_in_as(client, user)
    return user


def test_like_with_htmx_returns_the_button_with_the_live_count(client, session, article, reader):
    response = client.post(f"/articles/{article.id}/like", headers=htmx("like-button"), data={"next": "/@meimei/fang-shai"})

    html = _html(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="like-button"')
    assert "已赞 Liked" in html and '<span class="reaction-count">1</span>' in html
    assert f'action="/articles/{article.id}/unlike"' in html
    assert response.headers["HX-Trigger"] == "reactions-changed"

    response = client.post(f"/articles/{article.id}/unlike", headers=htmx("like-button"))
    assert "点赞 Like" in _html(response) and '<span class="reaction-count">0</span>' in _html(response)


def test_collect_as_a_plain_form_redirects_to_a_local_next_only(client, session, article, reader):
    local = client.post(f"/articles/{article.id}/collect", data={"next": "/@meimei/fang-shai?from=feed"})
    offsite = client.post(f"/articles/{article.id}/uncollect", data={"next": "//evil.example/"})

    assert local.status_code == 303 and local.headers["Location"] == "/@meimei/fang-shai?from=feed"
    assert offsite.status_code == 303 and offsite.headers["Location"] == "/@meimei/fang-shai"
    reread(session)
    assert reactions.count(session, "collect", article.id) == 0


def test_anonymous_readers_see_counts_and_sign_in_links_but_no_csrf_token(client, session, article, make_user):
    reactions.like_article(session, user_id=make_user().id, article_id=article.id)
    comments.post_comment(session, article_id=article.id, author_id=make_user().id, body_md="**真的好用**")

    html = _html(client.get("/@meimei/fang-shai"))

    assert '<a class="button secondary small" href="/signin?next=/@meimei/fang-shai" rel="nofollow">♡ 点赞 Like <span class="reaction-count">1</span></a>' in html
    assert "csrf_token" not in html and "X-CSRFToken" not in html
    assert 'id="notification-count"' not in html
    # Comments load into the page when scrolled to; the fragment is token-free for anonymous readers too.
    assert f'hx-get="/articles/{article.id}/comments"' in html
    section = _html(client.get(f"/articles/{article.id}/comments", headers=htmx("comment-section")))
    assert "<strong>真的好用</strong>" in section and "登录后参与评论" in section
    assert "csrf_token" not in section


def test_anonymous_clicks_are_sent_to_sign_in(client, article):
    plain = client.post(f"/articles/{article.id}/like", data={"next": "/@meimei/fang-shai"})
    with_htmx = client.post(f"/articles/{article.id}/like", headers=htmx("like-button"))

    assert plain.status_code == 303 and plain.headers["Location"].startswith("/signin?next=")
    assert with_htmx.status_code == 401 and with_htmx.headers["HX-Redirect"].startswith("/signin?next=")


def test_liking_a_hidden_article_is_not_found(client, session, creator, reader):
    hidden = add_article(session, creator, is_hidden=True)

    assert client.post(f"/articles/{hidden.id}/like", headers=htmx("like-button")).status_code == 404


def test_collections_page_lists_collected_articles_and_needs_sign_in(client, session, article, make_user, sign_in_as):
    assert client.get("/me/collections").headers["Location"].startswith("/signin?next=/me/collections")
    user = make_user()
    sign_in_as(client, user)
    empty = _html(client.get("/me/collections"))
    reactions.collect_article(session, user_id=user.id, article_id=article.id)

    html = _html(client.get("/me/collections"))

    assert "还没有收藏" in empty
    assert "防晒霜横评" in html and 'href="/@meimei/fang-shai"' in html


def test_creator_stats_page_shows_totals_and_is_for_creators_only(client, session, creator, article, make_user, sign_in_as):
    reactions.like_article(session, user_id=make_user().id, article_id=article.id)
    reader = make_user()
    sign_in_as(client, reader)
    assert client.get("/me/articles").status_code == 403

    sign_in_as(client, creator)
    html = _html(client.get("/me/articles"))

    assert "防晒霜横评" in html
    assert "<td>1</td>" in html
    assert 'href="/me/articles"' in html  # the header links creators to it


def test_posting_a_comment_with_htmx_returns_the_section_with_it(client, session, article, reader):
    response = client.post(f"/articles/{article.id}/comments", headers=htmx("comment-section"),
                           data={"body": "请问适合 *油皮* 吗？", "order": "oldest", "page": "1"})

    html = _html(response)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "comments-changed"
    assert html.lstrip().startswith('<section id="comment-section"')
    assert "请问适合 <em>油皮</em> 吗？" in html and "读者" in html
    assert '<textarea id="comment-body-new"' in html and "油皮</textarea>" not in html


def test_posting_a_comment_as_a_plain_form_redirects_back_to_the_comments(client, session, article, reader):
    response = client.post(f"/articles/{article.id}/comments", data={"body": "不用 JavaScript 也能评论"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/articles/{article.id}/comments"
    assert "不用 JavaScript 也能评论" in _html(client.get(response.headers["Location"]))


def test_an_empty_or_too_long_comment_gets_a_422_with_a_clear_message_and_keeps_the_text(client, article, reader):
    empty = client.post(f"/articles/{article.id}/comments", headers=htmx("comment-section"), data={"body": ""})
    long = client.post(f"/articles/{article.id}/comments", headers=htmx("comment-section"), data={"body": "长" * 2001})

    assert empty.status_code == 422 and "评论不能为空 · Please write something first" in _html(empty)
    assert long.status_code == 422 and "评论最多 2000 个字符" in _html(long)
    assert "长" * 2001 + "</textarea>" in _html(long)


def test_the_sixth_comment_in_a_minute_gets_the_rate_limit_message(client, article, reader):
    for n in range(5):
        assert client.post(f"/articles/{article.id}/comments", headers=htmx("comment-section"), data={"body": f"第{n}条"}).status_code == 200

    response = client.post(f"/articles/{article.id}/comments", headers=htmx("comment-section"), data={"body": "第六条"})

    assert response.status_code == 422
    assert "评论太频繁了：每分钟最多 5 条，请稍后再试 · Too many comments: at most 5 a minute" in _html(response)


def test_a_reply_appears_under_its_thread_and_the_answered_author_is_notified(client, session, article, make_user, reader):
    other = make_user(handle="alice", display_name="Alice")
    top = comments.post_comment(session, article_id=article.id, author_id=other.id, body_md="楼主好")

    response = client.post(f"/articles/{article.id}/comments", headers=htmx("comment-section"),
                           data={"body": "同问", "reply_to_id": str(top.id)})

    html = _html(response)
    thread = html[html.index(f'id="comment-thread-{top.id}"'):]
    assert '<ol class="comment-replies">' in thread and "同问" in thread
    assert unread(session, other) == 1


def test_comments_list_serves_the_fragment_to_htmx_and_a_page_otherwise(client, session, article, make_user):
    author = make_user()
    for n in range(3):
        comments.post_comment(session, article_id=article.id, author_id=author.id, body_md=f"评论{n}",
                              now=utcnow() - timedelta(minutes=10 - n))

    fragment = client.get(f"/articles/{article.id}/comments?order=oldest", headers=htmx("comment-section"))
    page = client.get(f"/articles/{article.id}/comments?order=oldest&page=abc")

    assert _html(fragment).lstrip().startswith('<section id="comment-section"') and "<html" not in _html(fragment)
    assert _html(fragment).index("评论0") < _html(fragment).index("评论2")
    assert page.status_code == 200 and "<html" in _html(page) and "防晒霜横评" in _html(page)


def test_editing_own_comment_swaps_it_and_after_ten_minutes_explains_why_not(client, session, article, reader):
    fresh = comments.post_comment(session, article_id=article.id, author_id=reader.id, body_md="初稿")
    old = comments.post_comment(session, article_id=article.id, author_id=reader.id, body_md="很久以前",
                                now=utcnow() - timedelta(minutes=11))

    edited = client.post(f"/comments/{fresh.id}/edit", headers=htmx(f"comment-{fresh.id}"), data={"body": "**定稿**"})
    late = client.post(f"/comments/{old.id}/edit", headers=htmx(f"comment-{old.id}"), data={"body": "改不了"})

    assert edited.status_code == 200
    assert _html(edited).lstrip().startswith(f'<article id="comment-{fresh.id}"') and "<strong>定稿</strong>" in _html(edited)
    assert "已编辑 edited" in _html(edited)
    assert late.status_code == 422 and "评论发布超过 10 分钟，已不能编辑" in _html(late)
    reread(session)
    assert session.get(Comment, old.id).body_md == "很久以前"


def test_nobody_edits_or_deletes_someone_elses_comment(client, session, article, make_user, reader):
    theirs = comments.post_comment(session, article_id=article.id, author_id=make_user().id, body_md="别人的")

    edit = client.post(f"/comments/{theirs.id}/edit", headers=htmx(f"comment-{theirs.id}"), data={"body": "篡改"})
    delete = client.post(f"/comments/{theirs.id}/delete", data={})

    assert edit.status_code == 422 and "这不是你的评论" in _html(edit)
    assert delete.status_code == 303
    reread(session)
    kept = session.get(Comment, theirs.id)
    assert kept.body_md == "别人的" and kept.deleted_at is None


def test_the_article_author_deletes_a_comment_on_their_article(client, session, article, creator, make_user, sign_in_as):
    comment = comments.post_comment(session, article_id=article.id, author_id=make_user().id, body_md="广告刷屏")
    sign_in_as(client, creator)

    response = client.post(f"/comments/{comment.id}/delete", headers=htmx("comment-section"))

    assert response.status_code == 200 and "广告刷屏" not in _html(response)
    reread(session)
    assert session.get(Comment, comment.id).deleted_at is not None


def test_reporting_swaps_the_comment_to_reported(client, session, article, make_user, reader):
    comment = comments.post_comment(session, article_id=article.id, author_id=make_user().id, body_md="可疑")

    response = client.post(f"/comments/{comment.id}/report", headers=htmx(f"comment-{comment.id}"))
    again = client.post(f"/comments/{comment.id}/report", data={})

    assert response.status_code == 200 and "已举报 Reported" in _html(response)
    assert again.status_code == 303
    reread(session)
    assert comments.count_reported(session) == 1


def test_moderation_queue_is_for_admins_and_hiding_shows_the_placeholder(client, session, article, make_user, sign_in_as):
    commenter = make_user()
    comment = comments.post_comment(session, article_id=article.id, author_id=commenter.id, body_md="违规内容")
    comments.report_comment(session, comment_id=comment.id, reporter_id=make_user().id)
    sign_in_as(client, make_user())
    assert client.get("/admin/comments").status_code == 403
    assert client.post(f"/admin/comments/{comment.id}/moderation", data={"decision": "hide"}).status_code == 403

    sign_in_as(client, make_user(is_admin=True))
    queue = client.get("/admin/comments")
    fragment = client.post(f"/admin/comments/{comment.id}/moderation", headers=htmx("comment-queue"), data={"decision": "hide"})

    assert "违规内容" in _html(queue) and "1</strong> 次举报" in _html(queue)
    assert "评论举报 Reported comments" in _html(client.get("/admin/"))
    assert fragment.status_code == 200 and _html(fragment).lstrip().startswith('<section id="comment-queue"')
    assert "没有待处理的举报" in _html(fragment)
    page = _html(client.get(f"/articles/{article.id}/comments"))
    assert "该评论已被隐藏 · This comment was hidden" in page and "违规内容" not in page
    assert unread(session, commenter) == 1

    bad = client.post(f"/admin/comments/{comment.id}/moderation", headers=htmx("comment-queue"), data={"decision": "explode"})
    plain = client.post(f"/admin/comments/{comment.id}/moderation", data={"decision": "restore"})
    assert bad.status_code == 422
    assert plain.status_code == 303 and plain.headers["Location"] == "/admin/comments"


def test_admin_hiding_an_article_notifies_its_author(client, session, article, creator, make_user, sign_in_as):
    sign_in_as(client, make_user(is_admin=True))

    response = client.post("/admin/articles/hidden", data={"article-reference": str(article.id), "article-action": "hide"})

    assert response.status_code == 303
    reread(session)
    rows = session.exec(select(Notification).where(Notification.recipient_id == creator.id)).all()
    assert [(row.kind, row.article_id) for row in rows] == [("article_hidden", article.id)]


def test_header_count_fragment_counts_unread_without_marking_them_read(client, session, article, creator, make_user, sign_in_as):
    for _ in range(2):
        reactions.like_article(session, user_id=make_user().id, article_id=article.id)
    reactions.collect_article(session, user_id=make_user().id, article_id=article.id)
    sign_in_as(client, creator)

    page = _html(client.get("/"))
    fragment = client.get("/me/notifications", headers=htmx("notification-count"))

    assert 'hx-trigger="load, every 60s, notifications-changed from:body"' in page
    html = _html(fragment)
    assert html.lstrip().startswith('<a id="notification-count"')
    assert '<span class="unread-badge">2</span>' in html and "load," not in html
    assert unread(session, creator) == 2


def test_notifications_page_lists_newest_first_and_marks_them_read(client, session, article, creator, make_user, sign_in_as):
    fan = make_user(handle="fan")
    reactions.like_article(session, user_id=fan.id, article_id=article.id)
    reactions.like_article(session, user_id=make_user(handle="fan2").id, article_id=article.id)
    sign_in_as(client, creator)

    html = _html(client.get("/me/notifications"))

    assert "@fan2 等 2 人赞了你的笔记" in html and "新 New" in html and "防晒霜横评" in html
    assert unread(session, creator) == 0
    assert "新 New" not in _html(client.get("/me/notifications"))


def test_mark_all_read_both_ways(client, session, article, creator, make_user, sign_in_as):
    reactions.like_article(session, user_id=make_user().id, article_id=article.id)
    sign_in_as(client, creator)

    fragment = client.post("/me/notifications/read-all", headers=htmx("notification-list"))
    plain = client.post("/me/notifications/read-all")

    assert fragment.status_code == 200 and fragment.headers["HX-Trigger"] == "notifications-changed"
    assert _html(fragment).lstrip().startswith('<section id="notification-list"')
    assert plain.status_code == 303 and plain.headers["Location"] == "/me/notifications"
    assert unread(session, creator) == 0


def test_anonymous_notification_requests(client):
    assert client.get("/me/notifications", headers=htmx("notification-count")).status_code == 204
    assert client.get("/me/notifications").headers["Location"].startswith("/signin?next=/me/notifications")
