"""Must show (issue 4): the whole checkout from an article in headless Chromium, with the real CSP and
CSRF on. A reader signs in, opens an article, adds the product from its block (htmx swaps the
tokened form in, the header count updates), goes to the cart, adds an address, places the order, pays
in the clearly labelled sandbox and sees the paid order in their order history."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import TEST_PASSWORD
from zhongcao.commerce.models import PAID, Order, OrderLine

pytestmark = pytest.mark.browser


def _watch_for_problems(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_a_reader_buys_from_an_article_and_sees_the_paid_order(
    live_server, page, session, make_user, make_shop, make_product, make_article,
):
    shop = make_shop(name="棉棉衣橱")
    product = make_product(shop=shop, title="轻薄羽绒服", price_fen=29900, commission_bp=1000, stock=3)
    author = make_user(handle="amber_commute", display_name="Amber", is_creator=True)
    article = make_article(author=author, title="通勤羽绒服测评", body_md=f"轻、暖、好收纳。\n\n::: product {product.slug}\n:::\n")
    reader = make_user(handle="checkout_reader", email="checkout_reader@example.com")
    problems = _watch_for_problems(page)

    page.goto(live_server.url + "/signin")
    page.fill("input[name=email]", reader.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.get_by_role("button", name="登录 Sign in").click()
    page.wait_for_url(re.compile(r"/$|/@checkout_reader"))

    page.goto(f"{live_server.url}/@amber_commute/{article.slug}")
    card = page.locator(".product-card", has_text="轻薄羽绒服")
    card.get_by_role("link", name="加入购物车 Add to cart").click()
    form = card.locator(f"form#add-to-cart-{product.id}")
    form.wait_for(state="visible")  # htmx swapped the link for a small form that carries a CSRF token
    form.get_by_role("button", name="加入购物车 Add to cart").click()
    card.locator(".added-note").wait_for(state="visible")
    page.locator("#cart-count .cart-badge").wait_for(state="visible")
    assert page.locator("#cart-count .cart-badge").inner_text() == "1"

    page.locator("#cart-count").click()
    page.wait_for_url(live_server.url + "/cart")
    assert "轻薄羽绒服" in page.locator("main").inner_text()
    page.get_by_role("link", name="去结算 Check out").click()
    page.wait_for_url(re.compile(r"/checkout$"))
    page.get_by_role("link", name="新增地址 Add an address").click()
    page.fill("input[name=recipient]", "林小草")
    page.fill("input[name=mobile]", "13800138000")
    page.fill("input[name=province]", "上海市")
    page.fill("input[name=city]", "上海市")
    page.fill("input[name=district]", "徐汇区")
    page.fill("input[name=detail]", "漕溪北路 88 号 12 楼")
    page.get_by_role("button", name="保存 Save").click()
    page.wait_for_url(re.compile(r"/checkout$"))  # back to the review with the new address chosen
    assert page.locator("input[name=address_id]:checked").count() == 1
    page.get_by_role("button", name="提交订单 Place order").click()

    page.wait_for_url(re.compile(r"/pay/sandbox/\d+$"))
    assert "沙箱支付 · Sandbox payment (no real money)" in page.locator(".sandbox-banner").inner_text()
    page.get_by_role("button", name=re.compile("确认支付 Pay")).click()
    page.wait_for_url(re.compile(r"/checkout/\d+$"))
    assert "已支付 · Paid" in page.locator(".checkout-status").inner_text()

    page.get_by_role("link", name="订单 Orders", exact=True).first.click()
    page.wait_for_url(live_server.url + "/orders")
    session.rollback()
    order = session.exec(select(Order)).one()
    assert order.number in page.locator("main").inner_text()
    assert order.status == PAID
    line = session.exec(select(OrderLine)).one()
    assert (line.quantity, line.line_total_fen, line.beneficiary_id) == (1, 29900, author.id)
    session.refresh(product)
    assert product.stock == 2
    assert problems == []
