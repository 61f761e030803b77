"""What the admin pages read: counts, hidden content, and links turned into ids."""
from __future__ import annotations

import pytest

from zhongcao.accounts import overview, services as accounts
from zhongcao.articles.models import Article
from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.errors import InvalidInput


@pytest.fixture
def make_article(session, make_user):
    def factory(**overrides) -> Article:
        author = overrides.pop("author", None) or make_user(is_creator=True)
        article = Article(author_id=author.id, slug=overrides.pop("slug", "my-review"), title="测评", **overrides)
        session.add(article)
        session.commit()
        return article

    return factory


def test_the_counts_cover_people_applications_and_content(session, make_user, make_product, make_article):
    make_user(is_admin=True)
    reader = make_user()
    accounts.apply_for_creator(session, user_id=reader.id, pitch="每周写一篇露营装备测评")
    make_article(is_hidden=True)
    make_product(status=PRODUCT_HIDDEN)
    make_product()

    counts = overview.site_counts(session)

    assert counts.pending_applications == 1
    assert counts.creators == 1  # the article's author
    assert counts.merchants == 2  # the two products' shop owners
    assert counts.users == 5
    assert (counts.articles, counts.hidden_articles) == (1, 1)
    assert (counts.products, counts.hidden_products) == (2, 1)


def test_a_product_is_found_by_id_slug_path_or_full_url(session, make_product):
    product = make_product(slug="down-jacket")

    for reference in (str(product.id), "down-jacket", "/products/down-jacket", "https://zhongcao.example/products/down-jacket?ref=x"):
        assert overview.find_product_id(session, reference) == product.id


@pytest.mark.parametrize("reference", ["999999", "no-such-thing", "/products/", ""])
def test_an_unknown_product_reference_is_a_clear_error(session, make_product, reference):
    make_product()

    with pytest.raises(InvalidInput) as refused:
        overview.find_product_id(session, reference)

    assert refused.value.code == "product_not_found"


def test_an_article_is_found_by_id_or_its_link(session, make_user, make_article):
    author = make_user(handle="MeiMei", is_creator=True)
    article = make_article(author=author, slug="sunscreen-review")

    for reference in (str(article.id), "/@meimei/sunscreen-review", "http://localhost/@MeiMei/sunscreen-review", f"/write/{article.id}"):
        assert overview.find_article_id(session, reference) == article.id
    with pytest.raises(InvalidInput) as refused:
        overview.find_article_id(session, "/@meimei/other-review")
    assert refused.value.code == "article_not_found"
