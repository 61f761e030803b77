"""Broken files are reported by file name and field and skipped whole, while every other file imports."""
from __future__ import annotations

from sqlmodel import select

from zhongcao.accounts.models import User
from zhongcao.articles.models import Article
from zhongcao.catalog.models import Product, Shop


def _problems(report) -> list[str]:
    return [str(problem) for problem in report.problems]


def _product_slugs(session) -> set[str]:
    return set(session.exec(select(Product.slug)))


def test_broken_files_are_reported_by_name_and_field_and_the_rest_imports(session, content_tree, run_import):
    content_tree.write("products/bad-yaml.md", "---\ntitle: [unclosed\n---\nbody\n")
    content_tree.write(
        "products/no-title.md",
        "---\nslug: no-title\nshop: mianmian-wardrobe\ncategory: home\nprice_fen: 100\nstock: 1\ncommission_bp: 100\n---\n",
    )
    content_tree.write(
        "products/float-price.md",
        "---\nslug: float-price\nshop: mianmian-wardrobe\ntitle: 浮点价格\ncategory: home\nprice_fen: 199.5\n"
        "stock: 1\ncommission_bp: 100\n---\n",
    )
    content_tree.write(
        "products/odd-category.md",
        "---\nslug: odd-category\nshop: mianmian-wardrobe\ntitle: 未知分类\ncategory: toys\nprice_fen: 100\n"
        "stock: 1\ncommission_bp: 100\n---\n",
    )
    content_tree.write(
        "articles/amber/ghost-product.md",
        "---\ntitle: 幽灵商品\nslug: ghost-product\nkind: note\npublished_at: 2026-11-01\n---\n正文\n\n"
        "::: product no-such-thing\n:::\n",
    )

    report = run_import(content_tree.root)

    problems = _problems(report)
    assert any(p.startswith("products/bad-yaml.md: front matter cannot be read as YAML") for p in problems)
    assert "products/no-title.md: title: is required" in problems
    assert "products/float-price.md: price_fen: must be a whole number of fen (got 199.5)" in problems
    assert (
        "products/odd-category.md: category: unknown category 'toys': not in categories.yaml or the database"
        in problems
    )
    assert "articles/amber/ghost-product.md: body: line 9: names unknown product 'no-such-thing'" in problems
    assert len(problems) == 5
    assert _product_slugs(session) == {"light-down", "canvas-tote"}
    assert set(session.exec(select(Article.slug))) == {"winter-commute", "tote-note"}


def test_an_article_naming_a_product_whose_file_failed_is_reported_too(session, content_tree, run_import):
    content_tree.replace("products/canvas-tote.md", "price_fen: 9900", 'price_fen: "99.00"')

    report = run_import(content_tree.root)

    assert _problems(report) == [
        "products/canvas-tote.md: price_fen: must be a whole number of fen (got '99.00')",
        "articles/amber/tote-note.md: body: line 9: names product 'canvas-tote', which was skipped "
        "(products/canvas-tote.md)",
        "articles/amber/winter-commute.md: body: line 21: names product 'canvas-tote', which was skipped "
        "(products/canvas-tote.md)",
    ]
    assert session.exec(select(Article)).all() == []
    assert _product_slugs(session) == {"light-down"}


def test_commission_outside_the_platform_bounds_is_refused(session, content_tree, run_import):
    content_tree.replace("products/canvas-tote.md", "commission_bp: 100", "commission_bp: 0")
    content_tree.replace("products/light-down.md", "commission_bp: 1500", "commission_bp: 5001")

    report = run_import(content_tree.root)

    assert _problems(report)[:2] == [
        "products/canvas-tote.md: commission_bp: must be within the platform bounds 100..5000 basis points (got 0)",
        "products/light-down.md: commission_bp: must be within the platform bounds 100..5000 basis points (got 5001)",
    ]
    assert _product_slugs(session) == set()


def test_wrong_types_enums_and_slugs_are_each_named(session, content_tree, run_import):
    content_tree.replace("products/light-down.md", "stock: 20", "stock: true")
    content_tree.replace("products/light-down.md", "list_price_fen: 79900", "list_price_fen: 100")
    content_tree.replace("products/light-down.md", "image_color: \"#6a8caf\"", "image_color: blue")
    content_tree.replace("products/canvas-tote.md", "slug: canvas-tote", "slug: Canvas_Tote")
    content_tree.replace("articles/amber/tote-note.md", "kind: note", "kind: vlog")
    content_tree.replace("accounts/reader.md", "roles: []", "roles: [moderator]")

    report = run_import(content_tree.root)

    problems = _problems(report)
    assert "products/light-down.md: stock: must be a whole number of items (got True)" in problems
    assert "products/light-down.md: list_price_fen: must not be below price_fen (100 < 59900)" in problems
    assert "products/light-down.md: image_color: must be a colour like \"#a1b2c3\" (got 'blue')" in problems
    assert "products/canvas-tote.md: slug: must be 3-80 lowercase letters, digits and single inner hyphens (got 'Canvas_Tote')" in problems
    assert "articles/amber/tote-note.md: kind: must be one of review, guide, note (got 'vlog')" in problems
    assert any(p.startswith("accounts/reader.md: roles: must be a list of creator, merchant, admin") for p in problems)
    assert session.exec(select(User).where(User.handle_key == "reader")).first() is None


def test_malformed_blocks_and_unknown_fields_are_reported_with_file_lines(session, content_tree, run_import):
    content_tree.write(
        "articles/amber/broken-block.md",
        "---\ntitle: 坏块\nslug: broken-block\nkind: review\nsubtitle: 多余字段\n---\n正文\n\n"
        "::: compare\nproduct: light-down\nrating: 7\n:::\n",
    )

    report = run_import(content_tree.root)

    problems = _problems(report)
    assert "articles/amber/broken-block.md: subtitle: unknown field" in problems[0]
    assert problems[1].startswith("articles/amber/broken-block.md: body: 第 11 行")
    assert len(problems) == 2


def test_an_account_whose_email_belongs_to_someone_else_is_skipped_with_its_shop_products_and_articles(
    session, content_tree, run_import, make_user
):
    make_user(handle="someone", email="mianmian@example.com")

    report = run_import(content_tree.root)

    problems = _problems(report)
    assert problems[0] == "accounts/mianmian.md: email: mianmian@example.com already belongs to @someone"
    assert "products/light-down.md: shop: no shop 'mianmian-wardrobe' in accounts/ or the database" in problems
    assert session.exec(select(Shop)).all() == []
    assert _product_slugs(session) == set()
    assert session.exec(select(User).where(User.handle_key == "amber")).one().is_creator


def test_an_article_by_an_unknown_or_non_creator_author_is_skipped(session, content_tree, run_import):
    content_tree.write(
        "articles/reader/first-post.md", "---\ntitle: 读者也想写\nslug: first-post\nkind: note\n---\n你好\n"
    )
    content_tree.write("articles/nobody/lost.md", "---\ntitle: 无主\nslug: lost\nkind: note\n---\n你好\n")

    report = run_import(content_tree.root)

    problems = _problems(report)
    assert "articles/reader/first-post.md: author: @reader is not a creator (add creator to their roles)" in problems
    assert (
        "articles/nobody/lost.md: author: unknown author 'nobody' (the folder name): "
        "no such account in accounts/ or the database" in problems
    )


def test_a_missing_demo_password_stops_new_accounts_only(session, content_tree, run_import, make_user):
    make_user(handle="amber", email="amber@example.com")
    content_tree.remove("demo.yaml")

    report = run_import(content_tree.root)

    problems = _problems(report)
    assert "accounts/mianmian.md: a new account needs demo_password in demo.yaml" in problems
    assert "accounts/reader.md: a new account needs demo_password in demo.yaml" in problems
    assert report.counts["accounts"]["updated"] == 1


def test_a_file_instead_of_a_folder_is_refused(content_tree, run_import):
    report = run_import(content_tree.root / "demo.yaml")

    assert len(report.problems) == 1
    assert "is not a folder" in str(report.problems[0])
    assert report.lines()[-1].endswith("is not a folder: pass the content folder (e.g. content/)")
