"""Article operations against the real database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from zhongcao.articles import services as articles
from zhongcao.articles.models import PUBLISHED, Article, ArticleProduct, ArticleRevision, ArticleTag
from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.errors import Conflict, Forbidden, InvalidInput, NotFound

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def creator(make_user):
    return make_user(is_creator=True)


def _save(session, creator, **kwargs):
    kwargs.setdefault("title", "轻薄羽绒服测评")
    kwargs.setdefault("body_md", "正文")
    return articles.save_article(session, author_id=creator.id, **kwargs)


def test_saving_creates_a_draft_with_its_first_revision(session, creator):
    article = _save(session, creator, body_md="# 标题\n\n正文", now=T0)

    assert article.status == "draft" and article.published_at is None
    assert article.revision == 1
    assert "<h2>标题</h2>" in article.body_html
    revisions = articles.list_revisions(session, article_id=article.id, author_id=creator.id)
    assert [(r.number, r.title, r.body_md, r.created_at) for r in revisions] == [(1, "轻薄羽绒服测评", "# 标题\n\n正文", T0)]


def test_chinese_title_gets_an_ascii_pinyin_slug_unique_per_author(session, creator, make_user):
    first = _save(session, creator, title="通勤三件套：我的每日好物")
    second = _save(session, creator, title="通勤三件套：我的每日好物")
    other_author = _save(session, make_user(is_creator=True), title="通勤三件套：我的每日好物")

    assert first.slug.isascii() and first.slug.startswith("tong-qin-san-jian-tao")
    assert second.slug == first.slug + "-2"
    assert other_author.slug == first.slug


def test_an_explicit_slug_that_is_taken_or_malformed_is_refused(session, creator):
    _save(session, creator, slug="my-review")

    with pytest.raises(Conflict) as taken:
        _save(session, creator, slug="my-review")
    with pytest.raises(InvalidInput) as malformed:
        _save(session, creator, slug="Not A Slug!")

    assert taken.value.code == "article_slug_taken"
    assert malformed.value.code == "article_slug_invalid"


def test_only_creators_can_write(session, make_user):
    reader = make_user()

    with pytest.raises(Forbidden) as refused:
        articles.save_article(session, author_id=reader.id, title="t", body_md="b")

    assert refused.value.code == "write_needs_creator"
    assert session.exec(select(func.count(Article.id))).one() == 0


def test_a_creator_cannot_update_someone_elses_article(session, creator, make_user):
    article = _save(session, creator)
    intruder = make_user(is_creator=True)

    with pytest.raises(Forbidden):
        _save(session, intruder, article_id=article.id, title="taken over")
    with pytest.raises(Forbidden):
        articles.publish_article(session, article_id=article.id, author_id=intruder.id)

    session.expire_all()
    assert session.get(Article, article.id).title == "轻薄羽绒服测评"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": "   "}, "article_title_required"),
        ({"title": "长" * 121}, "article_title_too_long"),
        ({"kind": "advert"}, "article_kind_invalid"),
        ({"summary": "x" * 301}, "article_summary_too_long"),
        ({"tags": [f"t{n}" for n in range(9)]}, "article_too_many_tags"),
        ({"tags": ["这是一个非常非常非常非常非常长的标签名字啊"]}, "article_tag_too_long"),
    ],
)
def test_bad_input_is_refused_with_a_code(session, creator, fields, code):
    with pytest.raises(InvalidInput) as refused:
        _save(session, creator, **fields)

    assert refused.value.code == code


def test_tags_are_trimmed_deduplicated_and_synced(session, creator):
    article = _save(session, creator, tags=[" 羽绒服 ", "#通勤", "羽绒服", "Winter", "winter", ""])

    updated = _save(session, creator, article_id=article.id, tags=["通勤", "秋冬"])

    tags = session.exec(select(ArticleTag.tag).where(ArticleTag.article_id == updated.id).order_by(ArticleTag.tag)).all()
    assert sorted(tags) == sorted(["通勤", "秋冬"])
    assert articles.normalise_tags([" 羽绒服 ", "#通勤", "羽绒服", "Winter", "winter"]) == ["羽绒服", "通勤", "Winter"]


def test_editing_keeps_a_revision_only_when_title_or_body_changes(session, creator):
    article = _save(session, creator, body_md="v1", now=T0)
    _save(session, creator, article_id=article.id, body_md="v1", summary="only the summary", now=T0 + timedelta(minutes=1))
    _save(session, creator, article_id=article.id, body_md="v2", now=T0 + timedelta(minutes=2))
    latest = _save(session, creator, article_id=article.id, title="新标题", body_md="v2", now=T0 + timedelta(minutes=3))

    revisions = articles.list_revisions(session, article_id=article.id, author_id=creator.id)
    assert [(r.number, r.title, r.body_md) for r in revisions] == [
        (3, "新标题", "v2"), (2, "轻薄羽绒服测评", "v2"), (1, "轻薄羽绒服测评", "v1")]
    assert latest.revision == 3 and latest.slug == article.slug
    assert articles.get_revision(session, article_id=article.id, author_id=creator.id, number=1).body_md == "v1"


def test_featured_products_and_commission_follow_the_blocks(session, creator, make_product):
    paying = make_product(slug="paying", commission_bp=1500)
    free = make_product(slug="free", commission_bp=0)

    article = _save(session, creator, body_md="::: grid\nproduct: free\nproduct: paying\nproduct: unknown-one\n:::\n")
    featured = session.exec(select(ArticleProduct).where(ArticleProduct.article_id == article.id)).all()
    assert {(row.product_id, row.position) for row in featured} == {(free.id, 0), (paying.id, 1)}
    assert article.has_commission is True

    article = _save(session, creator, article_id=article.id, body_md="::: product free\n:::\n")
    featured = session.exec(select(ArticleProduct).where(ArticleProduct.article_id == article.id)).all()
    assert [(row.product_id, row.position) for row in featured] == [(free.id, 0)]
    assert article.has_commission is False


def test_publishing_sets_the_time_once(session, creator, make_product):
    make_product(slug="down-jacket")
    article = _save(session, creator, body_md="::: product down-jacket\n:::\n")

    published = articles.publish_article(session, article_id=article.id, author_id=creator.id, now=T0)
    articles.unpublish_article(session, article_id=article.id, author_id=creator.id)
    again = articles.publish_article(session, article_id=article.id, author_id=creator.id, now=T0 + timedelta(days=2))

    assert published.status == PUBLISHED
    assert again.published_at == T0


def test_publishing_is_refused_while_blocks_have_problems(session, creator, make_product):
    make_product(slug="withdrawn", status=PRODUCT_HIDDEN)
    body = "::: grid\nproduct: no-such-thing\nproduct: withdrawn\n:::\n\n::: product\nrating: 9\n:::\n"
    article = _save(session, creator, body_md=body)

    with pytest.raises(articles.ArticleNotPublishable) as refused:
        articles.publish_article(session, article_id=article.id, author_id=creator.id)

    problems = refused.value.problems
    assert refused.value.code == "article_not_publishable"
    assert any("Line 2: no product “no-such-thing”" in p for p in problems)
    assert any("Line 3: product “withdrawn” is not on sale" in p for p in problems)
    assert any("Line 7:" in p for p in problems)
    session.expire_all()
    assert session.get(Article, article.id).status == "draft"


def test_preview_reports_problems_and_writes_nothing(session, creator, make_product):
    make_product(slug="known", title="已知好物", price_fen=12345)

    result = articles.preview(session, body_md="::: grid\nproduct: known\nproduct: ghost\n:::\n![r](https://example.com/r.png)")

    assert "已知好物" in result.html and "¥123.45" in result.html
    assert any("no product “ghost”" in p for p in result.problems)
    assert any("https://example.com/r.png" in p for p in result.problems)
    assert session.exec(select(func.count(Article.id))).one() == 0
    assert session.exec(select(func.count(ArticleRevision.id))).one() == 0


def test_remote_images_are_dropped_when_fetching_is_off(session, creator):
    # The web layer passes a fetcher only when FETCH_REMOTE_IMAGES is on; tests run with it off.
    article = _save(session, creator, body_md="看图 ![外链](https://example.com/pic.jpg)")

    assert "<img" not in article.body_html and "example.com" not in article.body_html
    assert "外链" in article.body_html
    assert article.body_md.endswith("(https://example.com/pic.jpg)")


def test_drafts_and_hidden_articles_are_visible_only_to_their_author(session, creator, make_user, make_article):
    admin = make_user(is_admin=True)
    reader = make_user()
    draft = make_article(author=creator, title="草稿", publish=False)
    public = make_article(author=creator, title="公开")

    with pytest.raises(NotFound):
        articles.get_article_page(session, handle=creator.handle, slug=draft.slug, viewer_id=reader.id)
    assert articles.get_article_page(session, handle=creator.handle, slug=draft.slug, viewer_id=creator.id).is_author
    assert articles.get_article_page(session, handle=creator.handle.upper(), slug=public.slug, viewer_id=None).article.id == public.id

    articles.hide_article(session, article_id=public.id, admin_id=admin.id)

    with pytest.raises(NotFound):
        articles.get_article_page(session, handle=creator.handle, slug=public.slug, viewer_id=None)
    assert articles.get_article_page(session, handle=creator.handle, slug=public.slug, viewer_id=creator.id).article.is_hidden


def test_only_admins_can_hide_articles(session, creator, make_article):
    article = make_article(author=creator)

    with pytest.raises(Forbidden):
        articles.hide_article(session, article_id=article.id, admin_id=creator.id)


def test_published_articles_query_leaves_out_drafts_and_hidden(session, creator, make_user, make_article):
    admin = make_user(is_admin=True)
    visible = make_article(author=creator, tags=["咖啡"])
    make_article(author=creator, publish=False)
    hidden = make_article(author=creator)
    articles.hide_article(session, article_id=hidden.id, admin_id=admin.id)

    everything = session.exec(articles.published_articles_query()).all()
    by_tag = session.exec(articles.published_articles_query(tag="咖啡")).all()

    assert [a.id for a in everything] == [visible.id]
    assert [a.id for a in by_tag] == [visible.id]


def test_recording_a_view_counts_it(session, make_article):
    article = make_article()

    articles.record_view(session, article_id=article.id)
    articles.record_view(session, article_id=article.id)

    session.expire_all()
    assert session.get(Article, article.id).view_count == 2
