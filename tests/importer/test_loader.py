"""Reading the content files: types, dates and duplicates, before anything touches the database."""
from __future__ import annotations

from datetime import datetime, timezone

from zhongcao.importer.loader import load_content


def _article_with(content_tree, published_at: str):
    content_tree.replace("articles/amber/winter-commute.md", "published_at: 2026-10-12", f"published_at: {published_at}")
    content = load_content(content_tree.root)
    return content, next((a for a in content.articles if a.slug == "winter-commute"), None)


def test_the_base_tree_loads_without_problems(content_tree):
    content = load_content(content_tree.root)

    assert content.problems == []
    assert content.demo_password == "zhongcao-demo-2026"
    assert [c.slug for c in content.categories] == ["apparel", "home"]
    assert {a.handle: sorted(a.roles) for a in content.accounts} == {
        "amber": ["creator"],
        "mianmian": ["merchant"],
        "reader": [],
    }
    guide = next(a for a in content.articles if a.slug == "winter-commute")
    assert (guide.author, guide.views, guide.tags) == ("amber", 1200, ("通勤", "羽绒服"))
    assert [(r.slug, r.line) for r in guide.products] == [("light-down", 13), ("canvas-tote", 21), ("light-down", 23)]


def test_a_date_time_without_offset_is_beijing_time(content_tree):
    _content, article = _article_with(content_tree, "2026-10-12 08:30:00")

    assert article.published_at == datetime(2026, 10, 12, 0, 30, tzinfo=timezone.utc)


def test_a_date_time_with_an_offset_keeps_it(content_tree):
    _content, article = _article_with(content_tree, "2026-10-12T08:30:00Z")

    assert article.published_at == datetime(2026, 10, 12, 8, 30, tzinfo=timezone.utc)


def test_a_quoted_date_is_read_like_a_bare_one(content_tree):
    _content, article = _article_with(content_tree, '"2026-10-12"')

    assert article.published_at == datetime(2026, 10, 12, 4, 0, tzinfo=timezone.utc)


def test_a_date_that_is_not_iso_is_a_problem(content_tree):
    content, article = _article_with(content_tree, "12/10/2026")

    assert article is None
    assert [str(p) for p in content.problems] == [
        "articles/amber/winter-commute.md: published_at: must be an ISO date or date-time like 2026-10-12 (got '12/10/2026')"
    ]


def test_two_accounts_with_one_email_keep_the_first(content_tree):
    content_tree.replace("accounts/reader.md", "reader@example.com", "Amber@Example.com")

    content = load_content(content_tree.root)

    assert [a.handle for a in content.accounts] == ["amber", "mianmian"]
    assert [str(p) for p in content.problems] == [
        "accounts/reader.md: email: 'amber@example.com' is already used by accounts/amber.md"
    ]


def test_handles_must_be_valid_unreserved_and_match_the_file_name(content_tree):
    content_tree.replace("accounts/reader.md", "handle: reader", "handle: admin")
    content_tree.replace("accounts/amber.md", "handle: amber", "handle: amber2")

    content = load_content(content_tree.root)

    assert [str(p) for p in content.problems] == [
        "accounts/amber.md: handle: must match the file name ('amber', got 'amber2')",
        "accounts/reader.md: handle: 'admin' is a reserved handle",
    ]
    assert content.failed_accounts == {"amber": "accounts/amber.md", "reader": "accounts/reader.md"}


def test_a_merchant_needs_a_shop_and_only_a_merchant_may_have_one(content_tree):
    content_tree.replace("accounts/mianmian.md", "roles: [merchant]", "roles: [creator]")

    content = load_content(content_tree.root)

    assert [str(p) for p in content.problems] == [
        "accounts/mianmian.md: shop: only an account with the merchant role can have a shop"
    ]


def test_a_body_too_long_for_a_bio_is_a_problem(content_tree):
    content_tree.write("accounts/reader.md", "---\nhandle: reader\nemail: r@example.com\ndisplay_name: R\n---\n" + "字" * 1001)

    content = load_content(content_tree.root)

    assert [str(p) for p in content.problems] == [
        "accounts/reader.md: bio: the body (bio) must be at most 1000 characters (got 1001)"
    ]
