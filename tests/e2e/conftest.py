"""Money flows end to end. After every test here, `zhongcao ledger-check` must pass on what the test left."""
from __future__ import annotations

import pytest

from tests.e2e.flows import PRICE_FEN, RATE_BP


@pytest.fixture(autouse=True)
def ledger_check_passes_afterwards(app):
    yield
    result = app.test_cli_runner().invoke(args=["zhongcao", "ledger-check"])
    assert result.exit_code == 0, f"zhongcao ledger-check failed after the test:\n{result.output}"
    assert "ledger check passed" in result.output


@pytest.fixture
def shop_scene(make_user, make_shop, make_product, make_article, sign_in_as, app):
    """A merchant's product featured in a creator's published article, and a reader with a client of their own."""
    merchant = make_user(is_merchant=True)
    shop = make_shop(owner=merchant, name="棉棉衣橱")
    product = make_product(shop=shop, title="轻薄羽绒服 Ultralight down", price_fen=PRICE_FEN, commission_bp=RATE_BP, stock=10)
    author = make_user(is_creator=True, display_name="通勤的琥珀")
    article = make_article(author=author, title="通勤羽绒服测评", body_md=f"冬天通勤就穿它。\n\n::: product {product.slug}\n:::\n")
    merchant_client = app.test_client()
    sign_in_as(merchant_client, merchant)
    return {"merchant": merchant, "shop": shop, "product": product, "author": author, "article": article,
            "merchant_client": merchant_client}
