"""What a storefront lists: public articles, picks from public articles, drafts only for the author."""
from __future__ import annotations

import pytest

from tests.social.factories import add_article, add_draft
from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.errors import NotFound
from zhongcao.social import listings
from zhongcao.social.storefront import creator_picks, get_profile, load_storefront


def test_picks_come_from_public_articles_only_and_are_distinct(session, make_user, make_product):
    creator = make_user(is_creator=True)
    serum, cream, draft_only, hidden_only, withdrawn = (make_product() for _ in range(5))
    withdrawn.status = PRODUCT_HIDDEN
    session.add(withdrawn)
    session.commit()

    add_article(session, creator, minutes=1, products=[serum, cream, withdrawn])
    add_article(session, creator, minutes=2, products=[serum])
    add_draft(session, creator, products=[draft_only])
    add_article(session, creator, minutes=3, products=[hidden_only], is_hidden=True)
    picks = creator_picks(session, creator_id=creator.id)

    assert [pick.product.id for pick in picks] == [serum.id, cream.id]


def test_sold_out_picks_stay_listed_and_say_so(session, make_user, make_product):
    creator = make_user(is_creator=True)
    gone = make_product(stock=0)
    add_article(session, creator, products=[gone])

    picks = creator_picks(session, creator_id=creator.id)

    assert [(pick.product.id, pick.is_sold_out) for pick in picks] == [(gone.id, True)]


def test_profiles_are_found_ignoring_case_and_unknown_or_inactive_ones_are_not(session, make_user):
    creator = make_user(handle="MeiMei", is_creator=True)
    make_user(handle="Sleeper", is_active=False)

    assert get_profile(session, "meimei").id == creator.id
    assert get_profile(session, "@MEIMEI").id == creator.id
    for handle in ("nobody_here", "sleeper", ""):
        with pytest.raises(NotFound):
            get_profile(session, handle)


def test_only_the_author_sees_drafts_and_hidden_articles(session, make_user):
    creator = make_user(is_creator=True)
    visitor = make_user()
    public = add_article(session, creator, minutes=1)
    draft = add_draft(session, creator)
    hidden = add_article(session, creator, minutes=2, is_hidden=True)

    as_author = load_storefront(session, user=creator, viewer_id=creator.id)
    as_visitor = load_storefront(session, user=creator, viewer_id=visitor.id)

    assert [card.article.id for card in as_author.articles] == [public.id]
    assert {article.id for article in as_author.workbench} == {draft.id, hidden.id}
    assert [card.article.id for card in as_visitor.articles] == [public.id]
    assert as_visitor.workbench == []
    assert as_visitor.article_count == 1


def test_suggested_creators_leave_out_the_viewer_and_those_already_followed(session, make_user):
    from zhongcao.social import services as social

    viewer = make_user(is_creator=True)
    followed, fresh, popular = (make_user(is_creator=True) for _ in range(3))
    make_user()  # a plain reader is never suggested
    social.follow(session, follower_id=viewer.id, creator_id=followed.id)
    social.follow(session, follower_id=followed.id, creator_id=popular.id)

    suggestions = listings.suggested_creators(session, viewer_id=viewer.id, limit=10)

    assert [card.user.id for card in suggestions] == [popular.id, fresh.id]
    assert suggestions[0].follower_count == 1
