"""Catalog routes: the merchant's shop and products (who may do what), and the public product page."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import pytest
from PIL import Image
from sqlmodel import select

from zhongcao.articles.models import Article, ArticleProduct
from zhongcao.catalog import services as catalog
from zhongcao.catalog.models import Product, ProductImage, Shop

PRODUCT_FORM = {
    "title": "轻薄羽绒服",
    "slug": "down-jacket",
    "brand": "Uniqlo",
    "price": "199.00",
    "list_price": "299",
    "stock": "20",
    "commission": "12.5",
    "category_id": "0",
    "status": "active",
    "description_md": "**轻**而且暖",
}


@pytest.fixture
def merchant(make_user):
    return make_user(is_merchant=True, handle="merchant_a")


@pytest.fixture
def shop(make_shop, merchant):
    return make_shop(owner=merchant, name="阿里小店")


@pytest.fixture
def product(make_product, shop):
    return make_product(shop=shop, slug="down-jacket", title="轻薄羽绒服", price_fen=19900, list_price_fen=29900, stock=20, commission_bp=1250)


@pytest.fixture
def merchant_client(client, sign_in_as, merchant):
    sign_in_as(client, merchant)
    return client


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (47, 143, 78)).save(out, "PNG")
    return out.getvalue()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/shop/products")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/shop/products")


def test_readers_get_403_on_the_merchant_pages(client, sign_in_as, make_user):
    sign_in_as(client, make_user())

    assert client.get("/shop/products").status_code == 403
    assert client.get("/shop").status_code == 403
    assert client.post("/shop/products/new", data=PRODUCT_FORM).status_code == 403


def test_a_merchant_opens_a_shop_then_sees_the_empty_product_list(merchant_client, session, merchant):
    assert merchant_client.get("/shop/products").headers["Location"].endswith("/shop")

    response = merchant_client.post("/shop", data={"name": "阿里小店", "slug": "", "description": "正品保障"})

    assert response.status_code == 303
    shop = catalog.find_shop_of(session, merchant.id)
    assert (shop.name, shop.slug) == ("阿里小店", "a-li-xiao-dian")
    assert "还没有商品" in merchant_client.get("/shop/products").get_data(as_text=True)


def test_a_bad_shop_slug_rerenders_the_form_with_the_reason(merchant_client, session, merchant):
    response = merchant_client.post("/shop", data={"name": "阿里小店", "slug": "Bad Slug!"})

    assert response.status_code == 422
    assert "小写字母" in response.get_data(as_text=True)
    assert session.exec(select(Shop)).first() is None


def test_creating_a_product_parses_yuan_and_percent_into_integers(merchant_client, session, shop):
    response = merchant_client.post("/shop/products/new", data=PRODUCT_FORM)

    assert response.status_code == 303
    product = session.exec(select(Product).where(Product.slug == "down-jacket")).one()
    assert response.headers["Location"] == f"/shop/products/{product.id}/edit"
    assert (product.price_fen, product.list_price_fen, product.stock, product.commission_bp) == (19900, 29900, 20, 1250)
    assert product.shop_id == shop.id
    assert "<strong>轻</strong>" in product.description_html


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("price", "abc", "价格请写成数字"),
        ("price", "-1", "价格不能为负数"),
        ("price", "1.234", "最多两位小数"),
        ("price", "99999999999", "价格不能超过"),
        ("commission", "0.5", "佣金比例超出平台允许范围 · The commission rate is outside the platform&#39;s range：1%–50%"),
        ("commission", "51", "1%–50%"),
        ("stock", "-3", "库存不能为负数"),
        ("list_price", "100", "划线价不能低于售价"),
        ("slug", "Down Jacket", "小写字母"),
    ],
)
def test_bad_product_input_gets_a_422_with_a_clear_message(merchant_client, session, shop, field, typed, message):
    response = merchant_client.post("/shop/products/new", data={**PRODUCT_FORM, field: typed})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.exec(select(Product)).first() is None


def test_commission_bounds_follow_the_app_settings(app, merchant_client, session, shop):
    app.config.update(COMMISSION_MIN_BP=2000, COMMISSION_MAX_BP=3000)

    refused = merchant_client.post("/shop/products/new", data={**PRODUCT_FORM, "commission": "12.5"})
    accepted = merchant_client.post("/shop/products/new", data={**PRODUCT_FORM, "commission": "30"})

    assert refused.status_code == 422 and "20%–30%" in refused.get_data(as_text=True)
    assert accepted.status_code == 303


def test_a_taken_slug_is_reported_on_the_slug_field(merchant_client, product):
    response = merchant_client.post("/shop/products/new", data=PRODUCT_FORM)

    assert response.status_code == 422
    assert "该地址已被占用" in response.get_data(as_text=True)


def test_the_product_list_shows_yuan_percent_and_status(merchant_client, product):
    html = merchant_client.get("/shop/products").get_data(as_text=True)

    assert "¥199.00" in html and "12.5%" in html and "在售 On sale" in html
    assert f'id="product-row-{product.id}"' in html
    assert f'hx-post="/shop/products/{product.id}/visibility"' in html


def test_the_edit_page_shows_stored_values_as_typed(merchant_client, product):
    html = merchant_client.get(f"/shop/products/{product.id}/edit").get_data(as_text=True)

    assert 'value="199.00"' in html and 'value="299.00"' in html and 'value="12.5"' in html


def test_editing_a_product_saves_the_changes(merchant_client, session, product):
    response = merchant_client.post(f"/shop/products/{product.id}/edit", data={**PRODUCT_FORM, "price": "159.9", "list_price": "", "stock": "0"})

    assert response.status_code == 303
    session.expire_all()
    stored = session.get(Product, product.id)
    assert (stored.price_fen, stored.list_price_fen, stored.stock) == (15990, None, 0)


def test_another_merchant_cannot_see_or_change_my_product(client, sign_in_as, make_user, session, product):
    sign_in_as(client, make_user(is_merchant=True))

    edit_page = client.get(f"/shop/products/{product.id}/edit")
    edit_post = client.post(f"/shop/products/{product.id}/edit", data={**PRODUCT_FORM, "price": "1"})
    hide = client.post(f"/shop/products/{product.id}/visibility", data={"hidden": "1"})
    image = client.post(f"/shop/products/{product.id}/images", data={"image": (io.BytesIO(png_bytes()), "x.png")}, content_type="multipart/form-data")

    assert edit_page.status_code == edit_post.status_code == hide.status_code == image.status_code == 403
    session.expire_all()
    stored = session.get(Product, product.id)
    assert (stored.price_fen, stored.status) == (19900, "active")
    assert session.exec(select(ProductImage)).first() is None


def test_a_missing_product_is_404_on_the_edit_page(merchant_client, shop):
    assert merchant_client.get("/shop/products/987654/edit").status_code == 404


def test_the_visibility_toggle_returns_the_row_to_htmx(merchant_client, session, product):
    response = merchant_client.post(
        f"/shop/products/{product.id}/visibility",
        data={"hidden": "1"},
        headers={"HX-Request": "true", "HX-Target": f"product-row-{product.id}"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="product-row-{product.id}"')
    assert "已隐藏 Hidden" in html and "上架 Show" in html
    assert "<html" not in html
    assert response.headers["HX-Trigger"] == "product-visibility-changed"
    session.expire_all()
    assert session.get(Product, product.id).status == "hidden"


def test_the_visibility_toggle_without_htmx_redirects_back_to_the_list(merchant_client, session, product):
    response = merchant_client.post(f"/shop/products/{product.id}/visibility", data={"hidden": "1"})
    shown_again = merchant_client.post(f"/shop/products/{product.id}/visibility", data={"hidden": "0"})

    assert response.status_code == shown_again.status_code == 303
    assert response.headers["Location"] == "/shop/products"
    session.expire_all()
    assert session.get(Product, product.id).status == "active"


def test_a_merchant_uploads_a_product_image_that_leads_the_product_page(merchant_client, client, session, product):
    response = merchant_client.post(
        f"/shop/products/{product.id}/images",
        data={"image": (io.BytesIO(png_bytes()), "photo.png"), "alt": "正面图"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 303
    image, upload = catalog.list_product_images(session, product.id)[0]
    assert upload.purpose == "product" and image.alt == "正面图"
    page = client.get("/products/down-jacket").get_data(as_text=True)
    assert f'class="gallery-main" src="/media/{upload.filename}"' in page


def test_a_file_that_is_not_an_image_is_refused_on_the_image_field(merchant_client, session, product):
    response = merchant_client.post(
        f"/shop/products/{product.id}/images",
        data={"image": (io.BytesIO(b"not an image at all"), "photo.png")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "只能上传 JPEG" in response.get_data(as_text=True)
    assert session.exec(select(ProductImage)).first() is None


def test_the_product_page_shows_price_shop_and_not_the_commission(client, product):
    response = client.get("/products/down-jacket")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "¥199.00" in html and "¥299.00" in html
    assert "轻薄羽绒服" in html and "阿里小店" in html
    assert "有货" in html
    assert "12.5%" not in html and "1250" not in html and "佣金比例" not in html
    assert 'id="buy-box"' in html


@pytest.mark.parametrize(("stock", "text"), [(0, "已售罄 · Sold out"), (3, "仅剩 3 件 · Only 3 left"), (50, "有货 · In stock")])
def test_the_product_page_shows_the_stock_state(client, make_product, stock, text):
    make_product(slug="stock-test", stock=stock)

    assert text in client.get("/products/stock-test").get_data(as_text=True)


def test_the_product_page_lists_articles_featuring_it(client, session, make_user, product):
    author = make_user(is_creator=True, handle="lily_reviews")
    published = Article(author_id=author.id, slug="best-down", title="冬季羽绒服测评", status="published", published_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    draft = Article(author_id=author.id, slug="draft-note", title="草稿笔记", status="draft")
    session.add_all([published, draft])
    session.flush()
    session.add_all([ArticleProduct(article_id=published.id, product_id=product.id), ArticleProduct(article_id=draft.id, product_id=product.id)])
    session.commit()

    html = client.get("/products/down-jacket").get_data(as_text=True)

    assert "相关笔记 · Featured in" in html
    assert '<a href="/@lily_reviews/best-down">冬季羽绒服测评</a>' in html
    assert "@lily_reviews" in html
    assert "草稿笔记" not in html


def test_the_product_page_carries_seo_metadata_and_valid_json_ld(client, make_product):
    make_product(slug="sold-out-thing", title='Quote "and" </script> tag', stock=0, price_fen=19900, brand="Muji")

    html = client.get("/products/sold-out-thing").get_data(as_text=True)

    assert '<link rel="canonical" href="http://localhost/products/sold-out-thing">' in html
    assert '<meta property="og:type" content="product">' in html
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@type"] == "Product" and data["name"] == 'Quote "and" </script> tag'
    assert data["brand"]["name"] == "Muji"
    assert data["offers"] == {
        "@type": "Offer",
        "url": "http://localhost/products/sold-out-thing",
        "price": "199.00",
        "priceCurrency": "CNY",
        "availability": "https://schema.org/OutOfStock",
        "seller": data["offers"]["seller"],
    }


def test_site_url_setting_drives_the_canonical_address(app, client, product):
    app.config["SITE_URL"] = "https://zhongcao.example/"

    html = client.get("/products/down-jacket").get_data(as_text=True)

    assert '<link rel="canonical" href="https://zhongcao.example/products/down-jacket">' in html


def test_a_hidden_product_is_404_for_the_public_but_visible_to_its_owner(client, sign_in_as, make_user, session, product, merchant):
    catalog.set_product_hidden(session, product_id=product.id, actor_id=merchant.id, hidden=True)

    assert client.get("/products/down-jacket").status_code == 404
    sign_in_as(client, make_user(is_merchant=True))
    assert client.get("/products/down-jacket").status_code == 404
    sign_in_as(client, merchant)
    owner_view = client.get("/products/down-jacket")
    assert owner_view.status_code == 200
    assert "此商品已隐藏" in owner_view.get_data(as_text=True)


def test_unknown_products_are_404(client):
    assert client.get("/products/no-such-thing").status_code == 404


def test_the_category_page_lists_its_active_products(client, make_product, make_category):
    category = make_category(slug="outerwear", name_zh="外套", name_en="Outerwear")
    make_product(slug="warm-coat", title="暖和大衣", category_id=category.id)
    make_product(slug="secret-coat", title="隐藏大衣", category_id=category.id, status="hidden")

    html = client.get("/categories/outerwear").get_data(as_text=True)

    assert "外套" in html and "暖和大衣" in html and "隐藏大衣" not in html
    assert client.get("/categories/outerwear?page=9").status_code == 404
    assert client.get("/categories/nothing-here").status_code == 404


def test_merchant_forms_render_for_a_plain_get(merchant_client, product):
    assert merchant_client.get("/shop").status_code == 200
    new_page = merchant_client.get("/shop/products/new")
    assert new_page.status_code == 200
    html = new_page.get_data(as_text=True)
    assert 'name="price"' in html and 'inputmode="decimal"' in html
    assert 'name="commission" placeholder="10" type="text" value="10"' in html


def test_a_product_can_be_filed_under_a_category(merchant_client, client, session, shop, make_category):
    category = make_category(slug="outerwear", name_zh="外套", name_en="Outerwear")

    response = merchant_client.post("/shop/products/new", data={**PRODUCT_FORM, "category_id": str(category.id)})
    nonsense = merchant_client.post("/shop/products/new", data={**PRODUCT_FORM, "slug": "other-one", "category_id": "abc"})

    assert response.status_code == 303 and nonsense.status_code == 422
    assert session.exec(select(Product).where(Product.slug == "down-jacket")).one().category_id == category.id
    assert '<a href="/categories/outerwear">外套 Outerwear</a>' in client.get("/products/down-jacket").get_data(as_text=True)


def test_a_merchant_renames_their_shop(merchant_client, session, shop):
    response = merchant_client.post("/shop", data={"name": "新店名", "description": "新介绍"})

    assert response.status_code == 303
    session.expire_all()
    assert (session.get(Shop, shop.id).name, session.get(Shop, shop.id).description) == ("新店名", "新介绍")
