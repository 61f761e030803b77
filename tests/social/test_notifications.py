"""Notifications: followers hear about first publications (one INSERT … SELECT after the commit),
replies and hides reach the right person, batching, the unread count, the list and marking read."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from tests.social.factories import BASE_TIME, add_article
from zhongcao.articles import services as articles
from zhongcao.social import comments, notifications, reactions
from zhongcao.social import services as social
from zhongcao.social.models import Follow, Notification


def _rows(session, **where):
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return session.exec(query).all()


def test_publishing_notifies_each_active_follower_once_after_the_commit(session, make_user, make_article):
    creator = make_user(is_creator=True)
    fans = [make_user() for _ in range(3)]
    gone = make_user(is_active=False)
    make_user()  # not following: hears nothing
    for fan in fans:
        social.follow(session, follower_id=fan.id, creator_id=creator.id)
    session.add(Follow(follower_id=gone.id, creator_id=creator.id))
    session.commit()

    draft = make_article(author=creator, title="新品测评", publish=False)
    assert _rows(session) == []
    articles.publish_article(session, article_id=draft.id, author_id=creator.id, now=BASE_TIME)

    rows = _rows(session, kind="creator_published")
    assert sorted(row.recipient_id for row in rows) == sorted(fan.id for fan in fans)
    assert {(row.actor_id, row.article_id, row.created_at) for row in rows} == {(creator.id, draft.id, BASE_TIME)}


def test_republishing_and_editing_do_not_notify_again(session, make_user, make_article):
    creator = make_user(is_creator=True)
    fan = make_user()
    social.follow(session, follower_id=fan.id, creator_id=creator.id)
    article = make_article(author=creator)

    articles.unpublish_article(session, article_id=article.id, author_id=creator.id)
    articles.publish_article(session, article_id=article.id, author_id=creator.id)
    articles.save_article(session, author_id=creator.id, article_id=article.id, title="改了标题", body_md="新正文")

    assert len(_rows(session, recipient_id=fan.id)) == 1


def test_the_follower_insert_is_one_statement_for_many_followers_and_skips_hidden_articles(session, make_user):
    creator = make_user(is_creator=True)
    for _ in range(25):
        social.follow(session, follower_id=make_user().id, creator_id=creator.id)
    hidden = add_article(session, creator, is_hidden=True)
    article = add_article(session, creator)
    session.exec(Notification.__table__.delete())  # the publication hook already wrote them once
    session.commit()

    assert notifications.notify_followers_of_publication(session, article_id=hidden.id) == 0
    assert notifications.notify_followers_of_publication(session, article_id=article.id) == 25
    assert notifications.notify_followers_of_publication(session, article_id=article.id) == 0
    assert len(_rows(session)) == 25


def test_collect_notifications_batch_separately_from_likes(session, make_user):
    author = make_user(is_creator=True)
    article = add_article(session, author)
    readers = [make_user() for _ in range(3)]
    for reader in readers:
        reactions.collect_article(session, user_id=reader.id, article_id=article.id)
    reactions.like_article(session, user_id=readers[0].id, article_id=article.id)

    rows = _rows(session, recipient_id=author.id)

    assert sorted((row.kind, row.count) for row in rows) == [("article_collected", 3), ("article_liked", 1)]
    assert notifications.unread_count(session, recipient_id=author.id) == 2


def test_admin_hiding_an_article_or_product_tells_the_owner_once(session, make_user, make_shop, make_product):
    admin = make_user(is_admin=True)
    creator = make_user(is_creator=True)
    article = add_article(session, creator)
    merchant = make_user(is_merchant=True)
    product = make_product(shop=make_shop(owner=merchant))

    notifications.notify_article_hidden(session, article_id=article.id, admin_id=admin.id)
    notifications.notify_article_hidden(session, article_id=article.id, admin_id=admin.id)
    notifications.notify_product_hidden(session, product_id=product.id, admin_id=admin.id)
    notifications.notify_product_hidden(session, product_id=product.id, admin_id=merchant.id)  # the owner's own hide

    assert [(row.kind, row.article_id) for row in _rows(session, recipient_id=creator.id)] == [("article_hidden", article.id)]
    assert [(row.kind, row.product_id) for row in _rows(session, recipient_id=merchant.id)] == [("product_hidden", product.id)]


def test_replying_to_ones_own_comment_notifies_nobody(session, make_user):
    article = add_article(session, make_user(is_creator=True))
    reader = make_user()
    top = comments.post_comment(session, article_id=article.id, author_id=reader.id, body_md="补充一下")

    comments.post_comment(session, article_id=article.id, author_id=reader.id, body_md="再补充", reply_to_id=top.id)

    assert _rows(session, kind="comment_replied") == []


def test_list_is_latest_first_with_what_each_line_shows_and_marking_read_is_per_recipient(session, make_user):
    creator = make_user(is_creator=True, handle="meimei")
    article = add_article(session, creator, title="防晒霜横评")
    fan, other = make_user(), make_user()
    reactions.like_article(session, user_id=fan.id, article_id=article.id, now=BASE_TIME)
    top = comments.post_comment(session, article_id=article.id, author_id=creator.id, body_md="欢迎提问", now=BASE_TIME)
    comments.post_comment(session, article_id=article.id, author_id=fan.id, body_md="请问", reply_to_id=top.id,
                          now=BASE_TIME + timedelta(minutes=1))
    reactions.like_article(session, user_id=other.id, article_id=article.id, now=BASE_TIME + timedelta(minutes=2))

    page = notifications.list_notifications(session, recipient_id=creator.id)

    assert [(item.notification.kind, item.notification.count, item.actor.id) for item in page.items] == [
        ("article_liked", 2, other.id),
        ("comment_replied", 1, fan.id),
    ]
    assert page.items[0].others == 1 and page.items[0].article.title == "防晒霜横评"
    assert page.items[0].article_author_handle == "meimei"

    assert notifications.mark_read(session, recipient_id=other.id, notification_ids=[page.items[0].notification.id]) == 0
    assert notifications.mark_read(session, recipient_id=creator.id, notification_ids=[page.items[0].notification.id]) == 1
    assert notifications.unread_count(session, recipient_id=creator.id) == 1
    assert notifications.mark_all_read(session, recipient_id=creator.id) == 1
    assert notifications.unread_count(session, recipient_id=creator.id) == 0
