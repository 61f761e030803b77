"""The editor, live preview, image uploads, revisions, the article page and the writing help page."""
from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image
from sqlmodel import select

from zhongcao.articles.models import Article
from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.plainsql import recording_statements

HTMX_PREVIEW = {"HX-Request": "true", "HX-Target": "article-preview"}
DISCLOSURE = "广告 · 含推广链接 / Ad · contains affiliate links"


@pytest.fixture
def creator(make_user):
    return make_user(is_creator=True, display_name="小满")


@pytest.fixture
def signed_in_creator(client, sign_in_as, creator):
    sign_in_as(client, creator)
    return creator


def _form(**overrides):
    form = {"title": "羽绒服测评", "kind": "review", "summary": "", "tags": "冬天，通勤", "slug": "", "body_md": "正文", "action": "draft"}
    form.update(overrides)
    return form


def _png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (40, 140, 80)).save(out, "PNG")
    out.seek(0)
    return out


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/write")

    assert response.status_code == 302
    assert "/signin" in response.headers["Location"] and "next=" in response.headers["Location"]


def test_readers_who_are_not_creators_get_403(client, sign_in_as, make_user):
    sign_in_as(client, make_user())

    assert client.get("/write").status_code == 403
    assert client.post("/write", data=_form()).status_code == 403
    assert client.post("/write/preview", data={"body_md": "x"}).status_code == 403


def test_the_editor_has_a_live_preview_wired_with_htmx(client, signed_in_creator):
    html = client.get("/write").get_data(as_text=True)

    textarea = re.search(r"<textarea[^>]*name=\"body_md\"[^>]*>", html).group(0)
    assert 'hx-post="/write/preview"' in textarea
    assert 'hx-trigger="input changed delay:400ms"' in textarea
    assert 'hx-target="#article-preview"' in textarea
    assert 'id="article-preview"' in html
    assert 'hx-post="/write/images"' in html
    assert "style=" not in html and "hx-on" not in html


def test_saving_a_draft_redirects_to_the_editor(client, session, signed_in_creator):
    response = client.post("/write", data=_form())

    article = session.exec(select(Article)).one()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/write/{article.id}")
    assert article.status == "draft" and article.author_id == signed_in_creator.id
    assert "羽绒服测评" in client.get(f"/write/{article.id}").get_data(as_text=True)


def test_a_blank_title_re_renders_the_editor_with_422(client, session, signed_in_creator):
    response = client.post("/write", data=_form(title=""))

    assert response.status_code == 422
    assert "必填 · Required" in response.get_data(as_text=True)
    assert session.exec(select(Article)).first() is None


def test_too_many_tags_are_reported_on_the_tags_field(client, signed_in_creator):
    response = client.post("/write", data=_form(tags="，".join(f"t{n}" for n in range(9))))

    assert response.status_code == 422
    assert "最多 8 个标签 · At most 8 tags" in response.get_data(as_text=True)


def test_publishing_redirects_to_the_article_page(client, signed_in_creator, make_product):
    make_product(slug="down-jacket", title="超轻羽绒服", commission_bp=1200)

    response = client.post("/write", data=_form(action="publish", body_md="::: product down-jacket\ncaption: 很轻\n:::\n"))

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"/@{signed_in_creator.handle}/")
    page = client.get(location).get_data(as_text=True)
    assert "超轻羽绒服" in page and "很轻" in page
    assert page.count(DISCLOSURE) >= 2  # at the top and next to the block


def test_publishing_with_problems_shows_them_and_keeps_the_draft(client, session, signed_in_creator):
    response = client.post("/write", data=_form(action="publish", body_md="::: product ghost-product\n:::\n"))

    html = response.get_data(as_text=True)
    article = session.exec(select(Article)).one()
    assert response.status_code == 422
    assert "还不能发布" in html and "no product “ghost-product”" in html
    assert article.status == "draft"
    assert f'action="/write/{article.id}"' in html  # the next attempt edits this draft


def test_unpublishing_returns_the_article_to_drafts(client, session, signed_in_creator, make_article):
    article = make_article(author=signed_in_creator)

    response = client.post(f"/write/{article.id}", data={"action": "unpublish"})

    session.expire_all()
    assert response.status_code == 303
    assert session.get(Article, article.id).status == "draft"


def test_another_creator_cannot_open_or_change_your_article(client, session, sign_in_as, make_user, make_article, creator):
    article = make_article(author=creator, title="我的原文")
    sign_in_as(client, make_user(is_creator=True))

    opened = client.get(f"/write/{article.id}")
    changed = client.post(f"/write/{article.id}", data=_form(title="被改了", action="publish"))
    unpublished = client.post(f"/write/{article.id}", data={"action": "unpublish"})
    revisions = client.get(f"/write/{article.id}/revisions")

    assert {opened.status_code, changed.status_code, unpublished.status_code, revisions.status_code} <= {403, 404}
    session.expire_all()
    stored = session.get(Article, article.id)
    assert (stored.title, stored.status) == ("我的原文", "published")


def test_preview_returns_the_fragment_to_htmx_and_a_page_otherwise(client, signed_in_creator, make_product):
    make_product(slug="known-thing", title="已知好物")
    body = {"body_md": "## 小标题\n\n::: grid\nproduct: known-thing\nproduct: ghost-thing\n:::\n"}

    fragment = client.post("/write/preview", data=body, headers=HTMX_PREVIEW)
    page = client.post("/write/preview", data=body)

    fragment_html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert fragment_html.lstrip().startswith('<section id="article-preview"')
    assert "<html" not in fragment_html
    assert "已知好物" in fragment_html and "no product “ghost-thing”" in fragment_html
    assert 'class="preview-problems"' in fragment_html
    assert "hx-disable" in fragment_html
    page_html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in page_html and 'id="article-preview"' in page_html


def test_uploading_an_image_returns_the_markdown_snippet(client, session, signed_in_creator):
    htmx = client.post("/write/images", data={"image": (_png(), "photo.png")},
                       headers={"HX-Request": "true", "HX-Target": "image-snippet"}, content_type="multipart/form-data")
    plain = client.post("/write/images", data={"image": (_png(), "photo.png")}, content_type="multipart/form-data")

    fragment = htmx.get_data(as_text=True)
    assert htmx.status_code == 200
    assert fragment.lstrip().startswith('<div id="image-snippet"')
    assert re.search(r"!\[\]\(/media/[0-9a-f]{32}\.png\)", fragment)
    assert plain.status_code == 200 and "<html" in plain.get_data(as_text=True)
    assert re.search(r"!\[\]\(/media/[0-9a-f]{32}\.png\)", plain.get_data(as_text=True))


def test_uploading_something_that_is_not_an_image_is_a_422(client, signed_in_creator):
    response = client.post("/write/images", data={"image": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")},
                           headers={"HX-Request": "true", "HX-Target": "image-snippet"}, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "只能上传" in response.get_data(as_text=True)


def test_a_cover_image_is_stored_and_shown(client, session, signed_in_creator):
    client.post("/write", data={**_form(action="publish"), "cover": (_png(), "cover.png")}, content_type="multipart/form-data")

    article = session.exec(select(Article)).one()
    page = client.get(f"/@{signed_in_creator.handle}/{article.slug}").get_data(as_text=True)
    assert article.cover_id is not None
    assert re.search(r'class="article-cover" src="/media/[0-9a-f]{32}\.png"', page)
    assert '<meta property="og:image" content="http://localhost/media/' in page


def test_revisions_are_listed_after_editing_a_published_article(client, session, signed_in_creator, make_article):
    article = make_article(author=signed_in_creator, title="第一版", body_md="最初的正文")

    client.post(f"/write/{article.id}", data=_form(title="第二版", body_md="改过的正文", slug=article.slug))
    listing = client.get(f"/write/{article.id}/revisions").get_data(as_text=True)
    first = client.get(f"/write/{article.id}/revisions/1").get_data(as_text=True)

    session.expire_all()
    assert session.get(Article, article.id).status == "published"
    assert "第一版" in listing and "第二版" in listing
    assert "/revisions/2" in listing and "/revisions/1" in listing
    assert "最初的正文" in first


def test_chinese_titles_get_ascii_article_urls(client, session, signed_in_creator):
    client.post("/write", data=_form(title="通勤三件套", action="publish"))
    client.post("/write", data=_form(title="通勤三件套", action="publish"))

    slugs = sorted(session.exec(select(Article.slug)).all())
    assert slugs == ["tong-qin-san-jian-tao", "tong-qin-san-jian-tao-2"]
    assert client.get(f"/@{signed_in_creator.handle}/tong-qin-san-jian-tao-2").status_code == 200


def test_the_article_page_shows_byline_kind_tags_and_structured_data(client, make_product, make_article, creator):
    make_product(slug="bosideng-light-down", title="波司登轻薄羽绒服", brand="波司登")
    article = make_article(author=creator, title="羽绒服 </script><script>alert(1)</script>", kind="review",
                           summary="两个冬天的体验", tags=["羽绒服", "通勤"],
                           body_md="::: product bosideng-light-down\nrating: 4.5\n:::\n")

    response = client.get(f"/@{creator.handle}/{article.slug}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/@{creator.handle}"' in html and "小满" in html
    assert "测评 Review" in html and "#羽绒服" in html and "#通勤" in html
    assert f'<link rel="canonical" href="http://localhost/@{creator.handle}/{article.slug}">' in html
    assert '<meta name="description" content="两个冬天的体验">' in html
    assert '<meta property="og:title"' in html
    assert "<script>alert(1)</script>" not in html
    ld_text = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "</script" not in ld_text.lower()
    ld = json.loads(ld_text)
    assert ld["@type"] == "Review"
    assert ld["itemReviewed"]["name"] == "波司登轻薄羽绒服"
    assert ld["reviewRating"]["ratingValue"] == "4.5"
    assert 'hx-disable' in html


def test_a_guide_is_described_as_an_article_in_structured_data(client, make_article, creator):
    article = make_article(author=creator, title="通勤指南", kind="guide")

    html = client.get(f"/@{creator.handle}/{article.slug}").get_data(as_text=True)

    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert ld["@type"] == "Article" and ld["headline"] == "通勤指南"
    assert "攻略 Guide" in html


def test_drafts_are_404_for_readers_and_visible_to_their_author(client, sign_in_as, make_article, creator):
    draft = make_article(author=creator, publish=False)

    assert client.get(f"/@{creator.handle}/{draft.slug}").status_code == 404
    sign_in_as(client, creator)
    assert "这是草稿" in client.get(f"/@{creator.handle}/{draft.slug}").get_data(as_text=True)


def test_a_product_hidden_after_publishing_shows_no_longer_available(client, session, make_product, make_article, creator):
    product = make_product(slug="limited-mug", title="限定马克杯")
    article = make_article(author=creator, body_md="::: product limited-mug\ncaption: 好看\n:::\n")
    product.status = PRODUCT_HIDDEN
    session.add(product)
    session.commit()

    response = client.get(f"/@{creator.handle}/{article.slug}")

    assert response.status_code == 200
    assert "该商品已下架 · No longer available" in response.get_data(as_text=True)


def test_the_article_page_runs_the_same_number_of_queries_for_1_or_12_blocks(
    client, engine, make_shop, make_product, make_article, creator
):
    shop = make_shop()
    for n in range(12):
        make_product(shop=shop, slug=f"thing-{n}", commission_bp=1000)
    one = make_article(author=creator, title="one block", body_md="::: product thing-0\n:::\n")
    twelve = make_article(author=creator, title="twelve blocks",
                          body_md="\n\n".join(f"::: product thing-{n}\ncaption: 第 {n} 个\n:::" for n in range(12)))
    counts = {}

    for article in (one, twelve):
        with recording_statements(engine) as statements:
            response = client.get(f"/@{creator.handle}/{article.slug}")
        assert response.status_code == 200
        counts[article.title] = len(statements)

    assert response.get_data(as_text=True).count('class="product-card"') == 12
    assert counts["one block"] == counts["twelve blocks"], counts


def test_the_writing_help_page_documents_the_block_syntax(client):
    response = client.get("/help/writing")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "::: product uniqlo-ultralight-down" in html and "::: compare" in html
    assert "广告 · 含推广链接 / Ad · contains affiliate links" in html
    assert "rel=&quot;nofollow ugc noopener&quot;" in html or 'rel="nofollow ugc noopener"' in html
