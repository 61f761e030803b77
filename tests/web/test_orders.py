"""Order pages: the buyer's history and order page, the merchant queue, their forms both ways, and who may see what."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from zhongcao.catalog.models import Product
from zhongcao.clock import utcnow
from zhongcao.commerce import orders, refunds
from zhongcao.commerce.models import PAID, RECEIVED, SHIPPED, CartLine, Order, OrderLine, RefundRequest


def htmx(target: str) -> dict:
    return {"HX-Request": "true", "HX-Target": target}


@pytest.fixture
def placed(session, make_order, make_user, make_product, make_shop):
    """A paid order of 2 × a product (stock 10 → 8); its buyer and its shop's merchant (as User rows)."""
    from zhongcao.accounts.models import User

    merchant = make_user(is_merchant=True)
    shop = make_shop(owner=merchant, name="棉棉衣橱")
    product = make_product(shop=shop, title="羊绒围巾 Cashmere scarf", stock=10, price_fen=29900)
    buyer = make_user(email="buyer-web@example.com")
    order = make_order(buyer=buyer, items=[(product, 2)])
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    return dict(order=order, line=line, product=product, buyer=buyer, merchant=session.get(User, merchant.id), shop=shop)


def fresh(session, model, row_id):
    session.rollback()  # end the test's read transaction: see what the requests committed
    session.expire_all()
    return session.get(model, row_id)


def ship(session, placed, now=None):
    return orders.ship_order(session, order_id=placed["order"].id, actor_id=placed["merchant"].id, carrier="顺丰速运",
                             tracking_number="SF1234567890", now=now)


# Buyer: history


def test_the_history_lists_the_buyers_orders_newest_first_with_status_badges(client, sign_in_as, session, placed, make_order):
    newer = make_order(buyer=placed["buyer"], now=utcnow() + timedelta(minutes=1))
    someone_elses = make_order()
    sign_in_as(client, placed["buyer"])

    response = client.get("/orders")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html
    assert html.index(newer.number) < html.index(placed["order"].number)
    assert someone_elses.number not in html
    assert "待发货 Paid, to ship" in html
    assert "再次购买 Buy again" in html


def test_the_history_fragment_is_only_the_list(client, sign_in_as, placed):
    sign_in_as(client, placed["buyer"])

    response = client.get("/orders?page=1", headers=htmx("order-list"))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="order-list"')
    assert "<html" not in html and placed["order"].number in html


def test_order_pages_ask_anonymous_visitors_to_sign_in(client, placed):
    for path in ("/orders", f"/orders/{placed['order'].number}", "/shop/orders"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/signin" in response.headers["Location"]


# Buyer: order page


def test_the_order_page_shows_lines_address_and_timeline(client, sign_in_as, placed):
    sign_in_as(client, placed["buyer"])

    response = client.get(f"/orders/{placed['order'].number}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "羊绒围巾 Cashmere scarf" in html and "¥598.00" in html
    assert "漕溪北路 1 号" in html
    assert 'class="order-timeline"' in html and "待付款 Awaiting payment" in html
    assert "申请退款 Request a refund" in html
    assert "发货 Ship" not in html


def test_an_unpaid_order_offers_payment_and_cancelling(client, sign_in_as, session, make_order):
    from zhongcao.accounts.models import User

    order = make_order(paid=False)
    sign_in_as(client, session.get(User, order.buyer_id))
    html = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert f'href="/checkout/{order.checkout_id}"' in html

    response = client.post(f"/orders/{order.number}/cancel", headers=htmx("order-panel"))

    assert response.status_code == 200
    assert "已取消 Cancelled" in response.get_data(as_text=True)
    assert fresh(session, Order, order.id).status == "cancelled"


def test_the_order_panel_fragment_is_served_to_htmx(client, sign_in_as, placed):
    sign_in_as(client, placed["buyer"])

    response = client.get(f"/orders/{placed['order'].number}", headers=htmx("order-panel"))

    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="order-panel"')
    assert "<html" not in html


@pytest.mark.parametrize("who", ["buyer", "merchant", "admin"])
def test_the_buyer_the_merchant_and_admins_may_open_an_order(client, sign_in_as, make_user, placed, who):
    viewer = {"buyer": placed["buyer"], "merchant": placed["merchant"], "admin": None}[who] or make_user(is_admin=True)
    sign_in_as(client, viewer)

    assert client.get(f"/orders/{placed['order'].number}").status_code == 200


@pytest.mark.parametrize("who", ["stranger", "other_merchant"])
def test_anyone_else_gets_404_for_an_order(client, sign_in_as, make_user, make_shop, placed, who):
    viewer = make_user() if who == "stranger" else make_user(is_merchant=True)
    if who == "other_merchant":
        make_shop(owner=viewer)
    sign_in_as(client, viewer)
    number, line = placed["order"].number, placed["line"]

    assert client.get(f"/orders/{number}").status_code == 404
    assert client.get("/orders/ZC000000000000").status_code == 404
    assert client.post(f"/orders/{number}/receive").status_code == 404
    assert client.post(f"/orders/{number}/cancel").status_code == 404
    assert client.post(f"/orders/{number}/buy-again").status_code == 404
    assert client.post(f"/orders/{number}/lines/{line.id}/refund", data={f"line-{line.id}-quantity": "1"}).status_code == 404
    assert client.post(f"/shop/orders/{number}/ship",
                       data={f"ship-{placed['order'].id}-carrier": "顺丰速运",
                             f"ship-{placed['order'].id}-tracking_number": "SF1234567890"}).status_code == 404


def test_confirming_receipt_with_a_plain_form_redirects_to_the_order(client, sign_in_as, session, placed):
    ship(session, placed)
    sign_in_as(client, placed["buyer"])

    response = client.post(f"/orders/{placed['order'].number}/receive")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{placed['order'].number}")
    assert fresh(session, Order, placed["order"].id).status == RECEIVED


def test_confirming_receipt_with_htmx_returns_the_panel(client, sign_in_as, session, placed):
    ship(session, placed)
    sign_in_as(client, placed["buyer"])

    response = client.post(f"/orders/{placed['order'].number}/receive", headers=htmx("order-panel"))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="order-panel"')
    assert "已收货 Received" in html and "七天无理由退货截止 Returns until" in html
    assert response.headers["HX-Trigger"] == "order-changed"


def test_confirming_receipt_twice_explains_why_with_422(client, sign_in_as, session, placed):
    sign_in_as(client, placed["buyer"])

    response = client.post(f"/orders/{placed['order'].number}/receive", headers=htmx("order-panel"))

    assert response.status_code == 422
    assert "订单当前状态不允许这样操作" in response.get_data(as_text=True)
    assert fresh(session, Order, placed["order"].id).status == PAID


def test_a_refund_request_from_the_order_page_notifies_the_merchant_by_mail(client, sign_in_as, session, placed, outbox):
    line = placed["line"]
    sign_in_as(client, placed["buyer"])

    response = client.post(f"/orders/{placed['order'].number}/lines/{line.id}/refund",
                           data={f"line-{line.id}-quantity": "1", f"line-{line.id}-reason": "颜色不喜欢"},
                           headers=htmx("order-panel"))

    assert response.status_code == 200
    assert "退款处理中 Refund requested" in response.get_data(as_text=True)
    session.rollback()
    refund = session.exec(select(RefundRequest)).one()
    assert (refund.quantity, refund.amount_fen, refund.reason) == (1, 29900, "颜色不喜欢")
    assert [m.to for m in outbox] == [placed["merchant"].email]
    assert placed["order"].number in outbox[0].subject and placed["order"].number in outbox[0].body


def test_an_excessive_refund_request_is_shown_with_422(client, sign_in_as, session, placed):
    line = placed["line"]
    sign_in_as(client, placed["buyer"])

    response = client.post(f"/orders/{placed['order'].number}/lines/{line.id}/refund",
                           data={f"line-{line.id}-quantity": "5"}, headers=htmx("order-panel"))

    assert response.status_code == 422
    assert "退款数量超出可退数量" in response.get_data(as_text=True)
    assert session.exec(select(RefundRequest)).all() == []


def test_a_line_of_another_order_cannot_be_refunded_through_this_one(client, sign_in_as, session, placed, make_order):
    other = make_order(buyer=placed["buyer"])
    other_line = session.exec(select(OrderLine).where(OrderLine.order_id == other.id)).one()
    sign_in_as(client, placed["buyer"])

    response = client.post(f"/orders/{placed['order'].number}/lines/{other_line.id}/refund",
                           data={f"line-{other_line.id}-quantity": "1"})

    assert response.status_code == 404


def test_buy_again_fills_the_cart_and_announces_it(client, sign_in_as, session, placed):
    number = placed["order"].number
    sign_in_as(client, placed["buyer"])

    fragment = client.post(f"/orders/{number}/buy-again", headers=htmx(f"buy-again-{number}"))
    plain = client.post(f"/orders/{number}/buy-again")

    assert fragment.status_code == 200
    assert fragment.headers["HX-Trigger"] == "cart-changed"
    assert "已加入购物车" in fragment.get_data(as_text=True)
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/cart")
    session.rollback()
    line = session.exec(select(CartLine).where(CartLine.product_id == placed["product"].id)).one()
    assert line.quantity == 4


def test_opening_an_order_applies_what_is_due(client, sign_in_as, session, placed):
    ship(session, placed, now=utcnow() - timedelta(days=11))
    sign_in_as(client, placed["buyer"])

    response = client.get(f"/orders/{placed['order'].number}")

    assert "已收货 Received" in response.get_data(as_text=True)
    assert fresh(session, Order, placed["order"].id).status == RECEIVED


# Merchant: queue


def test_the_merchant_queue_lists_orders_to_ship(client, sign_in_as, placed, make_order):
    not_mine = make_order()
    sign_in_as(client, placed["merchant"])

    response = client.get("/shop/orders")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html and placed["order"].number in html
    assert not_mine.number not in html
    assert f'id="shop-order-row-{placed["order"].id}"' in html
    assert "@" + placed["buyer"].handle in html


def test_the_queue_tabs_swap_only_the_queue(client, sign_in_as, session, placed):
    ship(session, placed)
    sign_in_as(client, placed["merchant"])

    to_ship = client.get("/shop/orders?tab=to_ship", headers=htmx("shop-order-queue"))
    shipped = client.get("/shop/orders?tab=shipped", headers=htmx("shop-order-queue"))

    assert to_ship.get_data(as_text=True).lstrip().startswith('<section id="shop-order-queue"')
    assert placed["order"].number not in to_ship.get_data(as_text=True)
    assert placed["order"].number in shipped.get_data(as_text=True)


def test_the_refunds_tab_lists_orders_with_open_requests(client, sign_in_as, session, placed):
    refunds.request_refund(session, order_line_id=placed["line"].id, quantity=1, buyer_id=placed["buyer"].id)
    sign_in_as(client, placed["merchant"])

    html = client.get("/shop/orders?tab=refunds").get_data(as_text=True)

    assert placed["order"].number in html
    assert "处理 1 个退款 Handle 1 refund" in html


def test_the_queue_is_for_merchants_with_a_shop(client, sign_in_as, make_user):
    sign_in_as(client, make_user())
    assert client.get("/shop/orders").status_code == 403

    sign_in_as(client, make_user(is_merchant=True))
    response = client.get("/shop/orders")
    assert response.status_code == 303 and response.headers["Location"].endswith("/shop")


def test_shipping_from_the_queue_row_swaps_the_row_and_mails_the_buyer(client, sign_in_as, session, placed, outbox):
    order = placed["order"]
    sign_in_as(client, placed["merchant"])

    response = client.post(f"/shop/orders/{order.number}/ship", headers=htmx(f"shop-order-row-{order.id}"),
                           data={f"ship-{order.id}-carrier": "顺丰速运", f"ship-{order.id}-tracking_number": "sf1234567890"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="shop-order-row-{order.id}"')
    assert "已发货 Shipped" in html and "SF1234567890" in html
    assert fresh(session, Order, order.id).status == SHIPPED
    assert [m.to for m in outbox] == ["buyer-web@example.com"]
    assert "SF1234567890" in outbox[0].body


def test_a_bad_tracking_number_comes_back_in_the_row_with_422(client, sign_in_as, session, placed):
    order = placed["order"]
    sign_in_as(client, placed["merchant"])

    response = client.post(f"/shop/orders/{order.number}/ship", headers=htmx(f"shop-order-row-{order.id}"),
                           data={f"ship-{order.id}-carrier": "顺丰速运", f"ship-{order.id}-tracking_number": "12"})

    assert response.status_code == 422
    assert "运单号为 6–40 位字母、数字或连字符" in response.get_data(as_text=True)
    assert fresh(session, Order, order.id).status == PAID


def test_shipping_with_a_plain_form_redirects_to_the_order(client, sign_in_as, session, placed):
    order = placed["order"]
    sign_in_as(client, placed["merchant"])

    response = client.post(f"/shop/orders/{order.number}/ship",
                           data={f"ship-{order.id}-carrier": "中通快递", f"ship-{order.id}-tracking_number": "ZT987654321"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{order.number}")
    assert fresh(session, Order, order.id).carrier == "中通快递"


def test_the_merchant_approves_a_refund_from_the_order_page(client, sign_in_as, session, placed, outbox):
    refund = refunds.request_refund(session, order_line_id=placed["line"].id, quantity=2, buyer_id=placed["buyer"].id)
    sign_in_as(client, placed["merchant"])
    page = client.get(f"/orders/{placed['order'].number}").get_data(as_text=True)
    assert "同意退款 Approve" in page

    response = client.post(f"/refunds/{refund.id}/approve", headers=htmx("order-panel"))

    assert response.status_code == 200
    assert "已退款 Refunded" in response.get_data(as_text=True)
    assert fresh(session, Product, placed["product"].id).stock == 10
    assert fresh(session, RefundRequest, refund.id).status == "refunded"
    assert [m.to for m in outbox] == ["buyer-web@example.com"]


def test_the_merchant_rejects_a_refund_with_a_plain_form(client, sign_in_as, session, placed):
    refund = refunds.request_refund(session, order_line_id=placed["line"].id, quantity=1, buyer_id=placed["buyer"].id)
    sign_in_as(client, placed["merchant"])

    response = client.post(f"/refunds/{refund.id}/reject", data={"reason": "已拆封 opened"})

    assert response.status_code == 303
    assert fresh(session, RefundRequest, refund.id).status == "rejected"
    assert fresh(session, Product, placed["product"].id).stock == 8


@pytest.mark.parametrize("who", ["buyer", "stranger", "other_merchant"])
def test_only_the_shop_owner_or_an_admin_decides_refunds(client, sign_in_as, session, make_user, make_shop, placed, who):
    refund = refunds.request_refund(session, order_line_id=placed["line"].id, quantity=1, buyer_id=placed["buyer"].id)
    actor = {"buyer": placed["buyer"], "stranger": make_user(), "other_merchant": make_shop().owner_id}[who]
    if who == "other_merchant":
        from zhongcao.accounts.models import User

        actor = session.get(User, actor)
    sign_in_as(client, actor)

    assert client.post(f"/refunds/{refund.id}/approve").status_code == 404
    assert client.post(f"/refunds/{refund.id}/reject").status_code == 404
    assert client.post("/refunds/999999/approve").status_code == 404
    assert fresh(session, RefundRequest, refund.id).status == "requested"


def test_the_merchant_cancels_a_paid_order_and_the_buyer_hears_of_it(client, sign_in_as, session, placed, outbox):
    sign_in_as(client, placed["merchant"])

    response = client.post(f"/orders/{placed['order'].number}/cancel", headers=htmx("order-panel"))

    assert response.status_code == 200
    assert "已取消 Cancelled" in response.get_data(as_text=True)
    assert fresh(session, Product, placed["product"].id).stock == 10
    assert [m.to for m in outbox] == ["buyer-web@example.com"]


def test_order_notifications_link_to_the_order(client, sign_in_as, session, placed):
    ship(session, placed)
    sign_in_as(client, placed["buyer"])

    html = client.get("/me/notifications").get_data(as_text=True)

    assert f'href="/orders/{placed["order"].number}"' in html
    assert "你的订单" in html and "has shipped" in html


# CSRF


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_order_writes_need_the_csrf_token(client, sign_in_as, session, placed):
    ship(session, placed)
    refund = refunds.request_refund(session, order_line_id=placed["line"].id, quantity=1, buyer_id=placed["buyer"].id)
    number = placed["order"].number
    sign_in_as(client, placed["buyer"])

    refused = [client.post(path).status_code for path in (
        f"/orders/{number}/receive", f"/orders/{number}/cancel", f"/orders/{number}/buy-again",
        f"/orders/{number}/lines/{placed['line'].id}/refund", f"/shop/orders/{number}/ship",
        f"/refunds/{refund.id}/approve", f"/refunds/{refund.id}/reject",
    )]

    assert refused == [400] * 7
    assert fresh(session, Order, placed["order"].id).status == SHIPPED
