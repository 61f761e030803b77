"""The demo content in content/ imports cleanly, and a second import changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.catalog.models import Category, Product
from zhongcao.config import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"


def _files(pattern: str) -> int:
    return len(list(CONTENT.glob(pattern)))


pytestmark = pytest.mark.skipif(
    _files("products/*.md") < 40 or _files("articles/*/*.md") < 30 or not (CONTENT / "categories.yaml").exists(),
    reason="content/ is still being written (needs categories.yaml, 40+ products and 30+ articles)",
)


def _count(session, column, *conditions) -> int:
    return session.exec(select(func.count(column)).where(*conditions)).one()


def test_the_demo_content_imports_without_problems_and_a_second_run_changes_nothing(session, run_import):
    report = run_import(CONTENT)
    again = run_import(CONTENT)

    assert [str(problem) for problem in report.problems] == []
    assert _count(session, Category.id) == 6
    assert _count(session, User.id, User.is_merchant == True) >= 3  # noqa: E712
    assert _count(session, User.id, User.is_creator == True) >= 6  # noqa: E712
    assert _count(session, Product.id) >= 40
    assert _count(session, Article.id) >= 30
    assert _count(session, Article.id, Article.status == PUBLISHED) >= 28
    assert report.images_generated == _count(session, Product.id)
    assert not again.changed
    assert again.problems == []
