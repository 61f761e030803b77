"""Cart lines: stock checks with clear errors, quantities, and merging an anonymous cart at sign-in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from zhongcao.catalog.models import PRODUCT_HIDDEN
from zhongcao.commerce import cart as carts
from zhongcao.commerce.models import SOURCE_ARTICLE, Cart, CartLine
from zhongcao.errors import InvalidInput, NotFound

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)


def _lines(session, cart_id):
    return {line.product_id: line for line in session.exec(select(CartLine).where(CartLine.cart_id == cart_id))}


def test_adding_the_same_product_twice_sums_the_quantity_on_one_line(session, make_user, make_product):
    buyer, product = make_user(), make_product(stock=10)
    cart = carts.open_cart(session, owner_id=buyer.id)

    carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=2)
    carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=3)

    lines = _lines(session, cart.id)
    assert list(lines) == [product.id]
    assert lines[product.id].quantity == 5
    assert carts.count_items(session, cart_id=cart.id) == 5


def test_asking_for_more_than_is_left_says_how_many_are_left(session, make_user, make_product):
    cart = carts.open_cart(session, owner_id=make_user().id)
    product = make_product(stock=3)
    carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=2)

    with pytest.raises(carts.NotEnoughStock) as raised:
        carts.add_to_cart(session, cart_id=cart.id, product_id=product.id, quantity=2)

    assert raised.value.code == "only_n_left"
    assert raised.value.available == 3
    assert "仅剩 3 件" in raised.value.detail and "only 3 left" in raised.value.detail
    assert _lines(session, cart.id)[product.id].quantity == 2


def test_sold_out_and_hidden_products_cannot_be_added(session, make_user, make_product):
    cart = carts.open_cart(session, owner_id=make_user().id)

    with pytest.raises(carts.OutOfStock):
        carts.add_to_cart(session, cart_id=cart.id, product_id=make_product(stock=0).id, quantity=1)
    with pytest.raises(carts.ProductUnavailable):
        carts.add_to_cart(session, cart_id=cart.id, product_id=make_product(status=PRODUCT_HIDDEN).id, quantity=1)
    with pytest.raises(carts.ProductUnavailable):
        carts.add_to_cart(session, cart_id=cart.id, product_id=987654, quantity=1)
    assert _lines(session, cart.id) == {}


@pytest.mark.parametrize("quantity", [0, -1, 100])
def test_quantities_outside_one_to_ninety_nine_are_refused(session, make_user, make_product, quantity):
    cart = carts.open_cart(session, owner_id=make_user().id)

    with pytest.raises(InvalidInput) as raised:
        carts.add_to_cart(session, cart_id=cart.id, product_id=make_product(stock=500).id, quantity=quantity)

    assert raised.value.field == "quantity"


def test_setting_a_quantity_checks_stock_and_zero_removes_the_line(session, make_cart, make_product):
    product = make_product(stock=4)
    cart = make_cart(lines=[(product, 1)])
    line = _lines(session, cart.id)[product.id]

    with pytest.raises(carts.NotEnoughStock):
        carts.set_quantity(session, cart_id=cart.id, line_id=line.id, quantity=5)
    carts.set_quantity(session, cart_id=cart.id, line_id=line.id, quantity=4)
    assert session.get(CartLine, line.id).quantity == 4

    carts.set_quantity(session, cart_id=cart.id, line_id=line.id, quantity=0)
    assert _lines(session, cart.id) == {}


def test_a_line_of_another_cart_cannot_be_changed_or_removed(session, make_cart, make_product):
    product = make_product()
    mine, theirs = make_cart(lines=[(product, 1)]), make_cart(lines=[(product, 1)])
    their_line = _lines(session, theirs.id)[product.id]

    with pytest.raises(NotFound):
        carts.set_quantity(session, cart_id=mine.id, line_id=their_line.id, quantity=2)
    with pytest.raises(NotFound):
        carts.remove_line(session, cart_id=mine.id, line_id=their_line.id)
    assert session.get(CartLine, their_line.id).quantity == 1


def test_the_cart_view_groups_lines_by_shop_at_current_prices(session, make_cart, make_product, make_shop):
    first_shop, second_shop = make_shop(name="A 店"), make_shop(name="B 店")
    tea = make_product(shop=first_shop, price_fen=1990)
    cup = make_product(shop=first_shop, price_fen=500, stock=1)
    pen = make_product(shop=second_shop, price_fen=1001)
    cart = make_cart(lines=[(tea, 2), (cup, 1), (pen, 3)])
    cup.stock = 0
    session.add(cup)
    session.commit()

    view = carts.get_cart_view(session, cart_id=cart.id)

    assert [group.shop.id for group in view.groups] == [first_shop.id, second_shop.id]
    assert [group.total_fen for group in view.groups] == [2 * 1990 + 500, 3 * 1001]
    assert view.total_fen == 2 * 1990 + 500 + 3 * 1001
    assert view.item_count == 6
    assert {line.product.id: line.problem for line in view.lines} == {tea.id: None, cup.id: "out_of_stock", pen.id: None}
    assert view.has_problems


def test_sign_in_merges_the_anonymous_cart_summing_quantities_capped_at_stock(session, make_cart, make_user, make_product):
    buyer = make_user()
    shared, only_anonymous = make_product(stock=5), make_product(stock=9)
    account_cart = make_cart(buyer=buyer, lines=[(shared, 3)])
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=shared.id, quantity=4)
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=only_anonymous.id, quantity=2)

    merged = carts.merge_carts(session, token=anonymous.token, owner_id=buyer.id)

    assert merged.id == account_cart.id
    lines = _lines(session, account_cart.id)
    assert lines[shared.id].quantity == 5  # 3 + 4, capped at the 5 in stock
    assert lines[only_anonymous.id].quantity == 2
    assert session.get(Cart, anonymous.id) is None


def test_merging_without_an_account_cart_adopts_the_anonymous_one(session, make_user, make_product):
    buyer, product = make_user(), make_product()
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=product.id, quantity=1)

    merged = carts.merge_carts(session, token=anonymous.token, owner_id=buyer.id)

    assert merged.id == anonymous.id
    assert (merged.owner_id, merged.token) == (buyer.id, None)
    assert carts.find_cart(session, owner_id=buyer.id).id == anonymous.id


def test_merging_keeps_the_attribution_of_the_newer_line(session, make_user, make_product, make_article):
    product = make_product()
    old_author, new_author = make_user(is_creator=True), make_user(is_creator=True)
    body = f"::: product {product.slug}\n:::\n"
    old_article = make_article(author=old_author, body_md=body)
    new_article = make_article(author=new_author, body_md=body)
    buyer = make_user()
    account_cart = carts.open_cart(session, owner_id=buyer.id)
    carts.add_to_cart(session, cart_id=account_cart.id, product_id=product.id, quantity=1,
                      source=SOURCE_ARTICLE, ref=old_article.id, now=T0)
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=product.id, quantity=1,
                      source=SOURCE_ARTICLE, ref=new_article.id, now=T0 + timedelta(days=1))

    carts.merge_carts(session, token=anonymous.token, owner_id=buyer.id)

    line = _lines(session, account_cart.id)[product.id]
    assert (line.beneficiary_id, line.attribution_ref, line.quantity) == (new_author.id, new_article.id, 2)


def test_merging_strips_a_line_that_credits_the_buyer_themselves(session, make_user, make_product, make_article):
    product = make_product()
    author = make_user(is_creator=True)
    article = make_article(author=author, body_md=f"::: product {product.slug}\n:::\n")
    anonymous = carts.open_cart(session, token=carts.new_cart_token())
    carts.add_to_cart(session, cart_id=anonymous.id, product_id=product.id, quantity=1, source=SOURCE_ARTICLE, ref=article.id)
    assert _lines(session, anonymous.id)[product.id].beneficiary_id == author.id

    carts.merge_carts(session, token=anonymous.token, owner_id=author.id)

    line = _lines(session, carts.find_cart(session, owner_id=author.id).id)[product.id]
    assert (line.beneficiary_id, line.attribution_source, line.attribution_ref) == (None, None, None)


def test_merging_an_unknown_token_changes_nothing(session, make_user):
    assert carts.merge_carts(session, token="no-such-token-000000", owner_id=make_user().id) is None
