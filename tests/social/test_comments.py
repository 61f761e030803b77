"""Comments: Markdown-lite, one level of replies, the edit window, who may delete, reports and the
moderation queue, the per-user rate limit, and the paginated list."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.social.factories import BASE_TIME, add_article
from zhongcao.errors import Forbidden, InvalidInput, NotFound
from zhongcao.social import comments
from zhongcao.social.comments import CommentRateLimited
from zhongcao.social.models import Comment, Notification


@pytest.fixture
def article(session, make_user):
    return add_article(session, make_user(is_creator=True))


def post(session, article, user, body="好用！", *, minutes=0, seconds=0, **kwargs):
    return comments.post_comment(session, article_id=article.id, author_id=user.id, body_md=body,
                                 now=BASE_TIME + timedelta(minutes=minutes, seconds=seconds), **kwargs)


def test_markdown_lite_keeps_emphasis_code_lists_and_links_but_no_html_images_or_headings():
    html = comments.render(
        "# 标题\n\n**真香** *推荐* `code`\n\n- 一\n- 二\n\n"
        "<script>alert(1)</script><b onclick=x>raw</b>\n\n"
        "![图](/media/0123456789abcdef0123456789abcdef.jpg) [官网](https://example.com) [坏](javascript:alert(1))"
    )

    assert "<strong>真香</strong>" in html and "<em>推荐</em>" in html and "<code>code</code>" in html
    assert "<ul>" in html and "<li>一</li>" in html
    assert "<h1" not in html and "# 标题" in html
    assert "<img" not in html and "<script" not in html and "<b " not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://example.com" rel="nofollow ugc noopener">官网</a>' in html
    assert "javascript:" not in html


def test_posting_stores_sanitised_html_and_rejects_empty_or_too_long_text(session, article, make_user):
    reader = make_user()

    comment = post(session, article, reader, "第一行\n第二行 <i>x</i>")

    assert comment.body_html == "<p>第一行<br>\n第二行 &lt;i&gt;x&lt;/i&gt;</p>"
    with pytest.raises(InvalidInput) as empty:
        post(session, article, reader, "   \n ")
    assert empty.value.code == "comment_empty"
    with pytest.raises(InvalidInput) as long:
        post(session, article, reader, "好" * 2001)
    assert long.value.code == "comment_too_long"
    assert post(session, article, reader, "好" * 2000, minutes=1).id


def test_a_reply_to_a_reply_joins_the_top_level_thread_and_notifies_who_was_answered(session, article, make_user):
    alice, bob, carol = make_user(handle="alice"), make_user(handle="bob"), make_user(handle="carol")
    top = post(session, article, alice, "楼主好")
    reply = post(session, article, bob, "同意", reply_to_id=top.id, seconds=1)
    nested = post(session, article, carol, "+1", reply_to_id=reply.id, seconds=2)

    assert (reply.parent_id, reply.reply_to_id) == (top.id, top.id)
    assert (nested.parent_id, nested.reply_to_id) == (top.id, reply.id)
    page = comments.list_comments(session, article_id=article.id, viewer_id=None, now=BASE_TIME)
    assert [thread.comment.id for thread in page.threads] == [top.id]
    assert [(view.comment.id, view.reply_to_handle) for view in page.threads[0].replies] == [(reply.id, None), (nested.id, "bob")]
    assert page.total == 3
    replied = session.exec(select(Notification.recipient_id, Notification.actor_id).where(Notification.kind == "comment_replied")
                           .order_by(Notification.id)).all()
    assert replied == [(alice.id, bob.id), (bob.id, carol.id)]


def test_replying_to_a_comment_of_another_article_or_a_deleted_one_is_refused(session, article, make_user):
    reader = make_user()
    other = add_article(session, make_user(is_creator=True))
    elsewhere = post(session, other, reader, "别处的")
    deleted = post(session, article, reader, "删了", seconds=1)
    comments.delete_comment(session, comment_id=deleted.id, actor_id=reader.id)

    for target in (elsewhere, deleted):
        with pytest.raises(InvalidInput) as refused:
            post(session, article, make_user(), "回复", reply_to_id=target.id)
        assert refused.value.code == "comment_reply_unavailable"


def test_comments_on_an_article_readers_cannot_see_are_refused(session, make_user):
    hidden = add_article(session, make_user(is_creator=True), is_hidden=True)

    with pytest.raises(NotFound):
        post(session, hidden, make_user())


def test_own_comment_can_be_edited_for_ten_minutes_and_not_after(session, article, make_user):
    reader = make_user()
    comment = post(session, article, reader, "初稿")

    edited = comments.edit_comment(session, comment_id=comment.id, editor_id=reader.id, body_md="**改好了**",
                                   now=BASE_TIME + timedelta(minutes=10))

    assert edited.body_html == "<p><strong>改好了</strong></p>" and edited.edited_at == BASE_TIME + timedelta(minutes=10)
    with pytest.raises(InvalidInput) as late:
        comments.edit_comment(session, comment_id=comment.id, editor_id=reader.id, body_md="再改",
                              now=BASE_TIME + timedelta(minutes=10, seconds=1))
    assert late.value.code == "comment_edit_window_closed"
    assert session.get(Comment, comment.id).body_md == "**改好了**"


def test_nobody_edits_someone_elses_comment_not_even_the_article_author(session, article, make_user):
    comment = post(session, article, make_user())
    author_of_article = session.get(type(article), article.id).author_id

    for editor_id in (make_user().id, author_of_article):
        with pytest.raises(Forbidden) as refused:
            comments.edit_comment(session, comment_id=comment.id, editor_id=editor_id, body_md="改", now=BASE_TIME)
        assert refused.value.code == "comment_not_yours"


def test_the_commenter_and_the_article_author_may_delete_and_others_may_not(session, article, make_user):
    commenter, stranger = make_user(), make_user()
    own = post(session, article, commenter, "我自己删")
    moderated = post(session, article, commenter, "作者删", seconds=1)

    with pytest.raises(Forbidden):
        comments.delete_comment(session, comment_id=own.id, actor_id=stranger.id)
    comments.delete_comment(session, comment_id=own.id, actor_id=commenter.id)
    comments.delete_comment(session, comment_id=moderated.id, actor_id=article.author_id)

    assert session.get(Comment, own.id).deleted_at is not None
    assert session.get(Comment, moderated.id).deleted_at is not None
    with pytest.raises(NotFound):
        comments.delete_comment(session, comment_id=own.id, actor_id=commenter.id)


def test_a_deleted_top_level_comment_stays_as_a_placeholder_while_it_has_replies(session, article, make_user):
    reader = make_user()
    top = post(session, article, reader, "会被删")
    post(session, article, make_user(), "回复还在", reply_to_id=top.id, seconds=1)
    lonely = post(session, article, reader, "没人回复", seconds=2)
    comments.delete_comment(session, comment_id=top.id, actor_id=reader.id)
    comments.delete_comment(session, comment_id=lonely.id, actor_id=reader.id)

    page = comments.list_comments(session, article_id=article.id, viewer_id=None)

    assert [(thread.comment.id, thread.is_deleted, len(thread.replies)) for thread in page.threads] == [(top.id, True, 1)]
    assert page.total == 1


def test_each_reader_reports_a_comment_once_and_not_their_own(session, article, make_user):
    commenter, reader = make_user(), make_user()
    comment = post(session, article, commenter)

    assert comments.report_comment(session, comment_id=comment.id, reporter_id=reader.id) is True
    assert comments.report_comment(session, comment_id=comment.id, reporter_id=reader.id) is False
    with pytest.raises(InvalidInput) as own:
        comments.report_comment(session, comment_id=comment.id, reporter_id=commenter.id)
    assert own.value.code == "cannot_report_own_comment"
    assert comments.count_reported(session) == 1
    page = comments.list_comments(session, article_id=article.id, viewer_id=reader.id)
    assert page.threads[0].reported is True and page.threads[0].can_report is True


def test_moderation_queue_lists_reported_comments_and_hiding_shows_a_placeholder(session, article, make_user):
    admin = make_user(is_admin=True)
    commenter = make_user()
    rude = post(session, article, commenter, "骂人的话")
    fine = post(session, article, commenter, "正常评论", seconds=1)
    for reporter in (make_user(), make_user()):
        comments.report_comment(session, comment_id=rude.id, reporter_id=reporter.id, now=BASE_TIME)
    comments.report_comment(session, comment_id=fine.id, reporter_id=make_user().id, now=BASE_TIME)

    queue = comments.reported_comments(session)
    assert [(row.comment.id, row.report_count) for row in queue] == [(rude.id, 2), (fine.id, 1)]

    comments.moderate_comment(session, comment_id=rude.id, admin_id=admin.id, decision="hide", now=BASE_TIME + timedelta(hours=1))
    comments.moderate_comment(session, comment_id=fine.id, admin_id=admin.id, decision="keep", now=BASE_TIME + timedelta(hours=1))

    assert comments.reported_comments(session) == []
    page = comments.list_comments(session, article_id=article.id, viewer_id=commenter.id, order="oldest")
    assert [(view.comment.id, view.is_hidden, view.can_edit) for view in page.threads] == [(rude.id, True, False), (fine.id, False, False)]
    assert page.total == 1
    told = session.exec(select(Notification).where(Notification.kind == "comment_hidden")).all()
    assert [(row.recipient_id, row.comment_id) for row in told] == [(commenter.id, rude.id)]

    comments.report_comment(session, comment_id=fine.id, reporter_id=make_user().id, now=BASE_TIME + timedelta(hours=2))
    assert [row.comment.id for row in comments.reported_comments(session)] == [fine.id]


def test_only_admins_moderate(session, article, make_user):
    comment = post(session, article, make_user())

    with pytest.raises(Forbidden) as refused:
        comments.moderate_comment(session, comment_id=comment.id, admin_id=article.author_id, decision="hide")

    assert refused.value.code == "not_an_admin"
    assert session.get(Comment, comment.id).is_hidden is False


def test_a_hidden_comment_can_be_restored(session, article, make_user):
    admin = make_user(is_admin=True)
    comment = post(session, article, make_user())
    comments.moderate_comment(session, comment_id=comment.id, admin_id=admin.id, decision="hide")

    assert [row.id for row, _ in comments.hidden_comments(session)] == [comment.id]
    comments.moderate_comment(session, comment_id=comment.id, admin_id=admin.id, decision="restore")

    assert session.get(Comment, comment.id).is_hidden is False
    assert comments.hidden_comments(session) == []


def test_rate_limit_allows_five_a_minute_then_refuses_with_its_own_code(session, article, make_user):
    reader = make_user()
    for second in range(5):
        post(session, article, reader, f"第{second}条", seconds=second)

    with pytest.raises(CommentRateLimited) as limited:
        post(session, article, reader, "第六条", seconds=30)

    assert limited.value.code == "comment_rate_limited_minute"
    assert post(session, article, reader, "一分钟后", minutes=1, seconds=1).id
    assert post(session, article, make_user(), "别人不受影响", seconds=30).id


def test_rate_limit_allows_fifty_a_day_and_deleting_does_not_reset_it(session, article, make_user):
    reader = make_user()
    for n in range(50):
        comment = post(session, article, reader, f"第{n}条", minutes=2 * n)
        comments.delete_comment(session, comment_id=comment.id, actor_id=reader.id)

    with pytest.raises(CommentRateLimited) as limited:
        post(session, article, reader, "第五十一条", minutes=120)

    assert limited.value.code == "comment_rate_limited_day"
    assert post(session, article, reader, "第二天", minutes=24 * 60 + 1).id


def test_comments_are_paginated_newest_or_oldest_first(session, article, make_user):
    reader = make_user()
    ids = [post(session, article, reader, f"第{n}条", minutes=n).id for n in range(5)]

    newest = comments.list_comments(session, article_id=article.id, viewer_id=None, per_page=2)
    oldest_last = comments.list_comments(session, article_id=article.id, viewer_id=None, order="oldest", page=3, per_page=2)
    beyond = comments.list_comments(session, article_id=article.id, viewer_id=None, page=99, per_page=2)

    assert [view.comment.id for view in newest.threads] == [ids[4], ids[3]] and newest.pages == 3
    assert [view.comment.id for view in oldest_last.threads] == [ids[4]]
    assert beyond.page == 3


def test_viewer_permissions_on_the_list(session, article, make_user):
    commenter, stranger = make_user(), make_user()
    comment = post(session, article, commenter)

    def flags(viewer_id, minutes=1):
        view = comments.list_comments(session, article_id=article.id, viewer_id=viewer_id,
                                      now=BASE_TIME + timedelta(minutes=minutes)).threads[0]
        return view.can_edit, view.can_delete, view.can_report

    assert flags(commenter.id) == (True, True, False)
    assert flags(commenter.id, minutes=11) == (False, True, False)
    assert flags(article.author_id) == (False, True, True)
    assert flags(stranger.id) == (False, False, True)
    assert flags(None) == (False, False, False)
    assert comment.id
