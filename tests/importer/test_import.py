"""Importing a content tree: what it creates, that a second run changes nothing, and that edits update rows."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from PIL import Image
from sqlmodel import select

from zhongcao.accounts.models import User
from zhongcao.accounts.passwords import verify_password
from zhongcao.articles.models import PUBLISHED, Article, ArticleProduct, ArticleRevision, ArticleTag
from zhongcao.catalog.models import Category, Product, ProductImage, Shop
from zhongcao.media.models import Upload
from tests.importer.conftest import DEMO_PASSWORD


def _product(session, slug: str) -> Product:
    return session.exec(select(Product).where(Product.slug == slug)).one()


def _article(session, slug: str) -> Article:
    return session.exec(select(Article).where(Article.slug == slug)).one()


def _user(session, handle: str) -> User:
    return session.exec(select(User).where(User.handle_key == handle)).one()


def test_importing_a_tree_creates_categories_accounts_shops_products_and_articles(session, content_tree, run_import):
    report = run_import(content_tree.root)

    assert report.problems == []
    assert {kind: dict(counter) for kind, counter in report.counts.items()} == {
        "categories": {"created": 2},
        "accounts": {"created": 3},
        "shops": {"created": 1},
        "products": {"created": 2},
        "articles": {"created": 2},
    }
    assert [c.slug for c in session.exec(select(Category).order_by(Category.position))] == ["apparel", "home"]
    merchant, creator, reader = (_user(session, h) for h in ("mianmian", "amber", "reader"))
    assert (merchant.is_merchant, merchant.is_creator, merchant.bio) == (True, False, "做了十年面料的店主。")
    assert (creator.is_creator, creator.display_name) == (True, "Amber 通勤穿搭")
    assert not (reader.is_creator or reader.is_merchant or reader.is_admin)
    shop = session.exec(select(Shop)).one()
    assert (shop.slug, shop.owner_id, shop.name) == ("mianmian-wardrobe", merchant.id, "棉棉衣橱 Mianmian Wardrobe")
    down = _product(session, "light-down")
    assert (down.price_fen, down.list_price_fen, down.stock, down.commission_bp) == (59900, 79900, 20, 1500)
    assert (down.shop_id, down.brand, down.status) == (shop.id, "棉棉", "active")
    assert "<li>充绒量 90 g</li>" in down.description_html


def test_new_accounts_get_the_demo_password(session, content_tree, run_import):
    run_import(content_tree.root)

    assert verify_password(_user(session, "amber").password_hash, DEMO_PASSWORD)


def test_an_existing_account_keeps_its_password_while_its_profile_and_roles_update(
    session, content_tree, run_import, make_user, password_hash
):
    make_user(handle="amber", email="amber@example.com", display_name="old name")

    report = run_import(content_tree.root)

    amber = _user(session, "amber")
    assert report.counts["accounts"]["updated"] == 1
    assert amber.password_hash == password_hash
    assert (amber.display_name, amber.is_creator) == ("Amber 通勤穿搭", True)


def test_each_product_gets_one_generated_800px_placeholder_image_that_later_runs_keep(
    app, session, content_tree, run_import
):
    first = run_import(content_tree.root)
    content_tree.replace("products/light-down.md", "price_fen: 59900", "price_fen: 55900")
    second = run_import(content_tree.root)

    images = session.exec(select(ProductImage, Upload).join(Upload, Upload.id == ProductImage.upload_id)).all()
    assert (first.images_generated, second.images_generated) == (2, 0)
    assert len(images) == 2
    _image, upload = images[0]
    assert (upload.purpose, upload.content_type) == ("product", "image/png")
    with Image.open(Path(app.config["DATA_DIR"]) / "uploads" / upload.filename) as picture:
        assert picture.size == (800, 800)


def test_articles_are_saved_and_published_at_their_date_and_drafts_stay_drafts(session, content_tree, run_import):
    report = run_import(content_tree.root)

    guide, note = _article(session, "winter-commute"), _article(session, "tote-note")
    assert report.articles_published == 1
    assert (guide.status, guide.kind, guide.summary, guide.lang) == (PUBLISHED, "guide", "两件单品过冬", "zh-CN")
    # A bare date is noon Beijing time.
    assert guide.published_at == datetime(2026, 10, 12, 4, 0, tzinfo=timezone.utc)
    assert guide.has_commission
    assert set(session.exec(select(ArticleTag.tag).where(ArticleTag.article_id == guide.id))) == {"通勤", "羽绒服"}
    assert len(session.exec(select(ArticleProduct).where(ArticleProduct.article_id == guide.id)).all()) == 2
    assert (note.status, note.published_at) == ("draft", None)
    assert "views: not imported" in "\n".join(report.lines())


def test_a_second_run_on_the_same_tree_reports_everything_unchanged_and_writes_nothing(
    session, content_tree, run_import, writes
):
    run_import(content_tree.root)
    stamps = {p.slug: p.updated_at for p in session.exec(select(Product))}
    writes.clear()

    report = run_import(content_tree.root)

    assert writes == []
    assert report.problems == []
    assert report.total("created") == report.total("updated") == report.images_generated == 0
    assert report.total("unchanged") == 2 + 3 + 1 + 2 + 2
    session.expire_all()
    assert {p.slug: p.updated_at for p in session.exec(select(Product))} == stamps
    assert len(session.exec(select(ArticleRevision)).all()) == 2
    assert "products: 0 created, 0 updated, 2 unchanged; 0 placeholder image(s) generated" in report.lines()


def test_editing_a_price_and_an_article_body_updates_just_those_rows(session, content_tree, run_import):
    run_import(content_tree.root)
    content_tree.replace("products/light-down.md", "price_fen: 59900", "price_fen: 55900")
    content_tree.replace("articles/amber/winter-commute.md", "## 我的搭配", "## 我的搭配（第二年更新）")
    untouched = _product(session, "canvas-tote").updated_at

    report = run_import(content_tree.root)

    session.expire_all()
    guide = _article(session, "winter-commute")
    assert dict(report.counts["products"]) == {"updated": 1, "unchanged": 1}
    assert dict(report.counts["articles"]) == {"updated": 1, "unchanged": 1}
    assert _product(session, "light-down").price_fen == 55900
    assert _product(session, "canvas-tote").updated_at == untouched
    assert "第二年更新" in guide.body_html
    assert guide.revision == 2
    numbers = session.exec(select(ArticleRevision.number).where(ArticleRevision.article_id == guide.id)).all()
    assert sorted(numbers) == [1, 2]
    assert (guide.status, guide.published_at) == (PUBLISHED, datetime(2026, 10, 12, 4, 0, tzinfo=timezone.utc))


def test_changing_category_names_shop_description_and_status_updates_them(session, content_tree, run_import):
    run_import(content_tree.root)
    content_tree.replace("categories.yaml", "name_en: Home", "name_en: Home & Living")
    content_tree.replace("accounts/mianmian.md", "通勤基础款。", "通勤基础款，七天无理由退货。")
    content_tree.replace("products/canvas-tote.md", "commission_bp: 100", "commission_bp: 100\nstatus: hidden")

    report = run_import(content_tree.root)

    session.expire_all()
    assert dict(report.counts["categories"]) == {"updated": 1, "unchanged": 1}
    assert dict(report.counts["shops"]) == {"updated": 1}
    assert dict(report.counts["accounts"]) == {"unchanged": 3}
    assert session.exec(select(Category).where(Category.slug == "home")).one().name_en == "Home & Living"
    assert session.exec(select(Shop)).one().description == "通勤基础款，七天无理由退货。"
    assert _product(session, "canvas-tote").status == "hidden"


def test_publishing_a_draft_file_and_unpublishing_a_published_one(session, content_tree, run_import):
    run_import(content_tree.root)
    content_tree.replace("articles/amber/tote-note.md", "tags: [包]", "tags: [包]\npublished_at: 2026-11-02T20:15:00+08:00")
    content_tree.replace("articles/amber/winter-commute.md", "published_at: 2026-10-12\n", "")

    report = run_import(content_tree.root)

    session.expire_all()
    note, guide = _article(session, "tote-note"), _article(session, "winter-commute")
    assert report.problems == []
    assert dict(report.counts["articles"]) == {"updated": 2}
    assert (note.status, note.published_at) == (PUBLISHED, datetime(2026, 11, 2, 12, 15, tzinfo=timezone.utc))
    assert guide.status == "draft"
    assert note.revision == 1


def test_an_article_naming_a_hidden_product_is_reported_as_not_publishable(session, content_tree, run_import):
    content_tree.replace("products/canvas-tote.md", "commission_bp: 100", "commission_bp: 100\nstatus: hidden")

    report = run_import(content_tree.root)

    assert [str(p) for p in report.problems if p.file == "articles/amber/winter-commute.md"] == [
        "articles/amber/winter-commute.md: published_at: cannot be published: "
        "line 21: names product 'canvas-tote', which is hidden"
    ]
    assert session.exec(select(Article).where(Article.slug == "winter-commute")).first() is None
    assert _article(session, "tote-note").status == "draft"


def test_the_console_command_prints_the_report(app, content_tree):
    result = app.test_cli_runner().invoke(args=["zhongcao", "import", str(content_tree.root)])

    assert result.exit_code == 0, result.output
    assert "accounts: 3 created, 0 updated, 0 unchanged" in result.output
    assert "articles: 2 created, 0 updated, 0 unchanged; 1 published" in result.output
