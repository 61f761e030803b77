"""Article rows for social tests, written directly (the article editor is not what these tests are about)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from zhongcao.articles.models import DRAFT, PUBLISHED, Article, ArticleProduct

BASE_TIME = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def add_article(session, author, *, minutes: int = 0, products=(), **overrides) -> Article:
    """A published article by `author`, `minutes` after BASE_TIME, featuring `products` in order."""
    status = overrides.pop("status", PUBLISHED)
    published_at = overrides.pop("published_at", BASE_TIME + timedelta(minutes=minutes) if status == PUBLISHED else None)
    slug = overrides.pop("slug", f"post-{uuid.uuid4().hex[:8]}")
    article = Article(
        author_id=author.id,
        slug=slug,
        title=overrides.pop("title", f"笔记 {slug}"),
        summary=overrides.pop("summary", "一句话总结"),
        status=status,
        published_at=published_at,
        created_at=BASE_TIME,
        updated_at=published_at or BASE_TIME,
        **overrides,
    )
    session.add(article)
    session.flush()
    for position, product in enumerate(products):
        session.add(ArticleProduct(article_id=article.id, product_id=product.id, position=position))
    session.commit()
    return article


def add_draft(session, author, **overrides) -> Article:
    return add_article(session, author, status=DRAFT, **overrides)
