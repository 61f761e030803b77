"""Personal share links: one stable, short, unguessable code per sharer and target."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from tests.social.factories import add_article, add_draft
from zhongcao.attribution import links
from zhongcao.attribution.models import ShareLink
from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.errors import InvalidInput


def test_the_same_sharer_and_target_always_get_the_same_code(session, make_user):
    article = add_article(session, make_user(is_creator=True))
    reader = make_user()

    first = links.share_link_for(session, sharer_id=reader.id, kind="article", target_id=article.id)
    second = links.share_link_for(session, sharer_id=reader.id, kind="article", target_id=article.id)

    assert second.link.code == first.link.code
    assert session.exec(select(func.count(ShareLink.id))).one() == 1


def test_codes_are_short_url_safe_and_differ_per_sharer_and_target(session, make_user, make_product):
    author = make_user(is_creator=True)
    articles = [add_article(session, author) for _ in range(3)]
    product = make_product()
    sharers = [make_user() for _ in range(3)]

    codes = [links.share_link_for(session, sharer_id=sharer.id, kind="article", target_id=article.id).link.code
             for sharer in sharers for article in articles]
    codes += [links.share_link_for(session, sharer_id=sharer.id, kind="product", target_id=product.id).link.code
              for sharer in sharers]

    assert len(set(codes)) == len(codes) == 12
    assert all(8 <= len(code) <= 10 and links.is_well_formed_code(code) for code in codes)


def test_codes_are_random_not_sequential(session, make_user):
    author = make_user(is_creator=True)
    sharer = make_user()
    codes = [links.share_link_for(session, sharer_id=sharer.id, kind="article", target_id=add_article(session, author).id).link.code
             for _ in range(5)]

    # Sequential or counter-based codes would share long prefixes; random ones almost never do.
    common_prefix = min(len(_common_prefix(a, b)) for a, b in zip(codes, codes[1:]))
    assert common_prefix <= 2


def test_a_product_link_leads_to_the_product(session, make_user, make_product):
    product = make_product(slug="down-jacket", title="轻薄羽绒服")

    shared = links.share_link_for(session, sharer_id=make_user().id, kind="product", target_id=product.id)

    assert shared.destination.kind == "product"
    assert shared.destination.slug == "down-jacket"
    assert shared.destination.is_available


@pytest.mark.parametrize("case", ["draft", "hidden_article", "inactive_author", "hidden_product", "missing"])
def test_unpublished_hidden_or_missing_targets_cannot_be_shared(session, make_user, make_product, case):
    author = make_user(is_creator=True)
    if case == "draft":
        kind, target_id = "article", add_draft(session, author).id
    elif case == "hidden_article":
        kind, target_id = "article", add_article(session, author, is_hidden=True).id
    elif case == "inactive_author":
        kind, target_id = "article", add_article(session, make_user(is_creator=True, is_active=False)).id
    elif case == "hidden_product":
        kind, target_id = "product", make_product(status=PRODUCT_HIDDEN).id
    else:
        kind, target_id = "article", 999_999

    with pytest.raises(links.TargetUnavailable):
        links.share_link_for(session, sharer_id=make_user().id, kind=kind, target_id=target_id)


def test_an_unknown_kind_is_refused(session, make_user):
    with pytest.raises(InvalidInput) as raised:
        links.share_link_for(session, sharer_id=make_user().id, kind="url", target_id=1)

    assert raised.value.code == "share_kind_invalid"


@pytest.mark.parametrize("code", ["", "short", "a" * 11, "abc/defgh", "abcdefg%2F", "abcdefgh\n", "ａｂｃｄｅｆｇｈ", "abcd efgh"])
def test_malformed_codes_find_nothing(session, code):
    assert links.find_link(session, code) is None
    assert not links.is_well_formed_code(code)


def _common_prefix(a: str, b: str) -> str:
    prefix = ""
    for x, y in zip(a, b):
        if x != y:
            break
        prefix += x
    return prefix
