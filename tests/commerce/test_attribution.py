"""Attribution: who a cart line credits, decided and frozen at add time, checked again at order time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from zhongcao.attribution.clicks import make_attribution_cookie, read_attribution
from zhongcao.attribution.links import share_link_for
from zhongcao.commerce import cart as carts, checkout
from zhongcao.commerce.models import SOURCE_ARTICLE, SOURCE_SHARE, SOURCE_STOREFRONT, CartLine, OrderLine

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)
SECRET = "attribution-test-secret-" + "x" * 20


def _block(product) -> str:
    return f"::: product {product.slug}\n:::\n"


def _click(session, sharer, *, kind, target_id, at, now=None, window_days=7):
    """The share click as the cart reads it from the cookie at `now` (None when outside the window)."""
    link = share_link_for(session, sharer_id=sharer.id, kind=kind, target_id=target_id).link
    cookie = make_attribution_cookie(link, secret=SECRET, now=at)
    return read_attribution(cookie, secret=SECRET, now=now or at, window_days=window_days), link


def _add(session, cart, product, **kwargs):
    line = carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=1, **kwargs)
    return session.get(CartLine, line.id)


def _credit(line):
    return line.beneficiary_id, line.attribution_source, line.attribution_ref


@pytest.fixture
def buyer_cart(session, make_user):
    buyer = make_user()
    return buyer, carts.open_cart(session, owner_id=buyer.id)


def test_a_block_in_an_article_credits_its_author(session, buyer_cart, make_user, make_product, make_article):
    buyer, cart = buyer_cart
    product, author = make_product(), make_user(is_creator=True)
    article = make_article(author=author, body_md=_block(product))

    line = _add(session, cart, product, source=SOURCE_ARTICLE, ref=article.id, buyer_id=buyer.id)

    assert _credit(line) == (author.id, SOURCE_ARTICLE, article.id)


def test_an_article_that_does_not_feature_the_product_credits_nobody(session, buyer_cart, make_product, make_article):
    buyer, cart = buyer_cart
    product = make_product()
    unrelated = make_article(body_md=_block(make_product()))

    line = _add(session, cart, product, source=SOURCE_ARTICLE, ref=unrelated.id, buyer_id=buyer.id)

    assert _credit(line) == (None, None, None)


def test_a_draft_or_hidden_article_credits_nobody(session, buyer_cart, make_user, make_product, make_article):
    from zhongcao.articles.services import hide_article

    buyer, cart = buyer_cart
    product = make_product()
    draft = make_article(body_md=_block(product), publish=False)
    hidden = make_article(body_md=_block(product))
    hide_article(session, article_id=hidden.id, admin_id=make_user(is_admin=True).id)

    assert _credit(_add(session, cart, product, source=SOURCE_ARTICLE, ref=draft.id)) == (None, None, None)
    assert _credit(_add(session, cart, product, source=SOURCE_ARTICLE, ref=hidden.id)) == (None, None, None)


def test_a_storefront_credits_the_creator_only_for_their_picks(session, buyer_cart, make_user, make_product, make_article):
    buyer, cart = buyer_cart
    creator = make_user(is_creator=True)
    picked, not_picked = make_product(), make_product()
    make_article(author=creator, body_md=_block(picked))

    picked_line = _add(session, cart, picked, source=SOURCE_STOREFRONT, ref=creator.id, buyer_id=buyer.id)
    other_line = _add(session, cart, not_picked, source=SOURCE_STOREFRONT, ref=creator.id, buyer_id=buyer.id)

    assert _credit(picked_line) == (creator.id, SOURCE_STOREFRONT, creator.id)
    assert _credit(other_line) == (None, None, None)


def test_a_product_share_link_credits_the_sharer_on_the_product_page(session, buyer_cart, make_user, make_product):
    buyer, cart = buyer_cart
    product, sharer = make_product(), make_user()
    click, link = _click(session, sharer, kind="product", target_id=product.id, at=T0)

    line = _add(session, cart, product, share_click=click, buyer_id=buyer.id, now=T0 + timedelta(hours=1))

    assert _credit(line) == (sharer.id, SOURCE_SHARE, link.id)


def test_an_article_share_link_credits_the_sharer_for_blocks_of_that_article(
    session, buyer_cart, make_user, make_product, make_article
):
    buyer, cart = buyer_cart
    product, sharer, author = make_product(), make_user(), make_user(is_creator=True)
    article = make_article(author=author, body_md=_block(product))
    click, link = _click(session, sharer, kind="article", target_id=article.id, at=T0)

    line = _add(session, cart, product, source=SOURCE_ARTICLE, ref=article.id, share_click=click, buyer_id=buyer.id)

    assert _credit(line) == (sharer.id, SOURCE_SHARE, link.id)


def test_a_later_click_on_another_article_wins_over_an_earlier_share(
    session, buyer_cart, make_user, make_product, make_article
):
    buyer, cart = buyer_cart
    product, sharer, other_author = make_product(), make_user(), make_user(is_creator=True)
    shared = make_article(body_md=_block(product))
    other = make_article(author=other_author, body_md=_block(product))
    click, _link = _click(session, sharer, kind="article", target_id=shared.id, at=T0)

    line = _add(session, cart, product, source=SOURCE_ARTICLE, ref=other.id, share_click=click, buyer_id=buyer.id)

    assert _credit(line) == (other_author.id, SOURCE_ARTICLE, other.id)


def test_a_share_click_outside_the_window_credits_nobody(session, buyer_cart, make_user, make_product):
    buyer, cart = buyer_cart
    product, sharer = make_product(), make_user()
    inside, _ = _click(session, sharer, kind="product", target_id=product.id, at=T0, now=T0 + timedelta(days=6, hours=23))
    outside, _ = _click(session, sharer, kind="product", target_id=product.id, at=T0, now=T0 + timedelta(days=7, hours=1))

    assert inside is not None
    assert outside is None
    assert _credit(_add(session, cart, product, share_click=outside, buyer_id=buyer.id)) == (None, None, None)


def test_the_last_click_wins_and_an_unattributed_add_keeps_the_frozen_credit(
    session, buyer_cart, make_user, make_product
):
    buyer, cart = buyer_cart
    product, first_sharer, second_sharer = make_product(), make_user(), make_user()
    first, first_link = _click(session, first_sharer, kind="product", target_id=product.id, at=T0)
    second, second_link = _click(session, second_sharer, kind="product", target_id=product.id, at=T0 + timedelta(days=1))

    after_first = _credit(_add(session, cart, product, share_click=first, buyer_id=buyer.id, now=T0))
    after_second = _credit(_add(session, cart, product, share_click=second, buyer_id=buyer.id, now=T0 + timedelta(days=1)))
    after_plain = _credit(_add(session, cart, product, buyer_id=buyer.id, now=T0 + timedelta(days=2)))

    assert after_first == (first_sharer.id, SOURCE_SHARE, first_link.id)
    assert after_second == (second_sharer.id, SOURCE_SHARE, second_link.id)
    assert after_plain == after_second


def test_the_credit_is_frozen_on_the_line_when_the_article_is_hidden_later(
    session, buyer_cart, make_user, make_product, make_article, make_address
):
    from zhongcao.articles.services import hide_article

    buyer, cart = buyer_cart
    product, author = make_product(), make_user(is_creator=True)
    article = make_article(author=author, body_md=_block(product))
    _add(session, cart, product, source=SOURCE_ARTICLE, ref=article.id, buyer_id=buyer.id)
    hide_article(session, article_id=article.id, admin_id=make_user(is_admin=True).id)

    placed = checkout.place_order(session, buyer_id=buyer.id, cart_id=cart.id, address_id=make_address(buyer).id,
                                  idempotency_key="frozen-1")

    line = session.exec(select(OrderLine)).one()
    assert placed.total_fen == product.price_fen
    assert (line.beneficiary_id, line.attribution_source, line.attribution_ref) == (author.id, SOURCE_ARTICLE, article.id)


def test_self_referral_earns_nothing_at_add_time(session, make_user, make_product, make_article):
    author, product = make_user(is_creator=True), make_product()
    article = make_article(author=author, body_md=_block(product))
    cart = carts.open_cart(session, owner_id=author.id)

    line = _add(session, cart, product, source=SOURCE_ARTICLE, ref=article.id, buyer_id=author.id)

    assert _credit(line) == (None, None, None)


def test_self_referral_from_an_anonymous_cart_is_stripped_at_order_time(
    session, make_user, make_product, make_article, make_address
):
    sharer, product = make_user(), make_product()
    click, _ = _click(session, sharer, kind="product", target_id=product.id, at=T0)
    cart = carts.open_cart(session, token=carts.new_cart_token())
    assert _add(session, cart, product, share_click=click).beneficiary_id == sharer.id  # buyer unknown yet
    # The sharer's cart (e.g. signed in on another device) receives the line as it was, credit included.
    cart.owner_id, cart.token = sharer.id, None
    session.add(cart)
    session.commit()

    checkout.place_order(session, buyer_id=sharer.id, cart_id=cart.id, address_id=make_address(sharer).id,
                         idempotency_key="self-1")

    line = session.exec(select(OrderLine)).one()
    assert (line.beneficiary_id, line.attribution_source, line.attribution_ref) == (None, None, None)
    assert line.commission_bp == product.commission_bp


def test_a_merchant_buying_their_own_product_credits_nobody(session, make_user, make_product, make_article, make_shop):
    merchant = make_user(is_merchant=True)
    product = make_product(shop=make_shop(owner=merchant))
    article = make_article(body_md=_block(product))
    cart = carts.open_cart(session, owner_id=merchant.id)

    line = _add(session, cart, product, source=SOURCE_ARTICLE, ref=article.id, buyer_id=merchant.id)

    assert _credit(line) == (None, None, None)


def test_a_merchant_cannot_earn_commission_on_their_own_shop(session, buyer_cart, make_user, make_product, make_shop):
    buyer, cart = buyer_cart
    merchant = make_user(is_merchant=True)
    product = make_product(shop=make_shop(owner=merchant))
    click, _ = _click(session, merchant, kind="product", target_id=product.id, at=T0)

    assert _credit(_add(session, cart, product, share_click=click, buyer_id=buyer.id)) == (None, None, None)


def test_a_deactivated_beneficiary_earns_nothing_at_order_time(
    session, buyer_cart, make_user, make_product, make_article, make_address
):
    buyer, cart = buyer_cart
    product, author = make_product(), make_user(is_creator=True)
    article = make_article(author=author, body_md=_block(product))
    _add(session, cart, product, source=SOURCE_ARTICLE, ref=article.id, buyer_id=buyer.id)
    author.is_active = False
    session.add(author)
    session.commit()

    checkout.place_order(session, buyer_id=buyer.id, cart_id=cart.id, address_id=make_address(buyer).id,
                         idempotency_key="inactive-1")

    assert session.exec(select(OrderLine.beneficiary_id)).one() is None
