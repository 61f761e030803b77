"""Catalog operations on a real database: shops, products, their rules, visibility and the product page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import func, select

from zhongcao.articles.models import Article, ArticleProduct
from zhongcao.catalog import services as catalog
from zhongcao.catalog.models import Product
from zhongcao.errors import Conflict, Forbidden, InvalidInput, NotFound

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def merchant(make_user):
    return make_user(is_merchant=True)


@pytest.fixture
def shop(session, merchant):
    return catalog.create_shop(session, owner_id=merchant.id, name="小米旗舰店")


def new_product(session, shop, **overrides):
    values = dict(actor_id=shop.owner_id, shop_id=shop.id, slug="down-jacket", title="轻薄羽绒服", price_fen=19900, stock=10, commission_bp=1000)
    values.update(overrides)
    return catalog.create_product(session, **values)


def test_a_merchant_opens_one_shop_with_a_pinyin_slug(session, merchant):
    shop = catalog.create_shop(session, owner_id=merchant.id, name="小米旗舰店", description="正品")

    assert shop.slug == "xiao-mi-qi-jian-dian"
    assert catalog.find_shop_of(session, merchant.id).id == shop.id
    with pytest.raises(Conflict) as caught:
        catalog.create_shop(session, owner_id=merchant.id, name="第二家")
    assert caught.value.code == "shop_exists"


def test_only_merchants_open_shops(session, make_user):
    reader = make_user()

    with pytest.raises(Forbidden):
        catalog.create_shop(session, owner_id=reader.id, name="Reader shop")


def test_a_taken_shop_slug_is_a_conflict_but_generated_slugs_step_aside(session, make_user):
    first = catalog.create_shop(session, owner_id=make_user(is_merchant=True).id, name="Good Stuff")

    second = catalog.create_shop(session, owner_id=make_user(is_merchant=True).id, name="Good Stuff")
    with pytest.raises(Conflict) as caught:
        catalog.create_shop(session, owner_id=make_user(is_merchant=True).id, name="Other", slug=first.slug)

    assert first.slug == "good-stuff"
    assert second.slug == "good-stuff-2"
    assert caught.value.field == "slug"


def test_only_the_owner_updates_a_shop(session, shop, make_user):
    updated = catalog.update_shop(session, shop_id=shop.id, actor_id=shop.owner_id, name="新名字", description="新介绍")

    assert (updated.name, updated.description) == ("新名字", "新介绍")
    with pytest.raises(Forbidden):
        catalog.update_shop(session, shop_id=shop.id, actor_id=make_user(is_merchant=True).id, name="x", description="")


def test_creating_a_product_renders_its_description_and_stamps_times(session, shop):
    product = new_product(session, shop, description_md="**好穿**\n\n- 轻\n- 暖", list_price_fen=29900, brand="Uniqlo", now=T0)

    stored = session.get(Product, product.id)
    assert stored.price_fen == 19900 and stored.list_price_fen == 29900
    assert "<strong>好穿</strong>" in stored.description_html
    assert "<li>轻</li>" in stored.description_html
    assert stored.created_at == T0 and stored.updated_at == T0


def test_descriptions_never_keep_raw_html_images_or_script_links(session, shop):
    product = new_product(
        session,
        shop,
        description_md='<script>alert(1)</script>\n\n<img src=x onerror=alert(1)> ![p](https://x.test/p.png) [a](javascript:alert(1)) [b](https://b.test)',
    )

    html = product.description_html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html  # shown as text, not dropped silently
    assert '<a href="https://b.test" rel="nofollow noopener">b</a>' in html


def test_updating_a_product_changes_fields_and_bumps_updated_at(session, shop):
    product = new_product(session, shop, now=T0)
    later = T0 + timedelta(hours=2)

    catalog.update_product(session, actor_id=shop.owner_id, product_id=product.id, price_fen=15900, title="新款羽绒服", description_md="*新*", now=later)

    stored = session.get(Product, product.id)
    assert (stored.price_fen, stored.title) == (15900, "新款羽绒服")
    assert stored.description_html == "<p><em>新</em></p>"
    assert stored.updated_at == later and stored.created_at == T0


def test_a_refused_update_changes_nothing(session, shop):
    product = new_product(session, shop, list_price_fen=25900)

    with pytest.raises(InvalidInput) as caught:
        catalog.update_product(session, actor_id=shop.owner_id, product_id=product.id, title="改名", price_fen=30000)

    assert caught.value.field == "list_price_fen"
    session.expire_all()
    stored = session.get(Product, product.id)
    assert (stored.title, stored.price_fen) == ("轻薄羽绒服", 19900)


@pytest.mark.parametrize("commission_bp", [100, 5000, 1250])
def test_commission_at_or_within_the_platform_bounds_is_accepted(session, shop, commission_bp):
    product = new_product(session, shop, commission_bp=commission_bp)

    assert product.commission_bp == commission_bp


@pytest.mark.parametrize("commission_bp", [99, 5001, 0, 10000])
def test_commission_outside_the_platform_bounds_is_refused(session, shop, commission_bp):
    with pytest.raises(InvalidInput) as caught:
        new_product(session, shop, commission_bp=commission_bp)

    assert caught.value.code == "commission_out_of_bounds"
    assert caught.value.field == "commission_bp"
    assert caught.value.detail == "1%–50%"


def test_the_bounds_come_from_the_caller(session, shop):
    product = new_product(session, shop, commission_bp=6000, commission_bounds=(500, 8000))

    with pytest.raises(InvalidInput):
        catalog.update_product(session, actor_id=shop.owner_id, product_id=product.id, commission_bp=400, commission_bounds=(500, 8000))
    assert product.commission_bp == 6000


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"price_fen": -1}, "price_fen", "price_negative"),
        ({"stock": -1}, "stock", "count_negative"),
        ({"list_price_fen": 19899}, "list_price_fen", "list_price_below_price"),
        ({"price_fen": 19.9}, "price_fen", "not_a_whole_number"),
        ({"title": "   "}, "title", "title_required"),
        ({"slug": "Down_Jacket"}, "slug", "slug_invalid"),
        ({"slug": "ab"}, "slug", "slug_invalid"),
        ({"slug": "-abc"}, "slug", "slug_invalid"),
        ({"slug": "a" * 81}, "slug", "slug_invalid"),
        ({"status": "deleted"}, "status", "status_invalid"),
        ({"category_id": 987654}, "category_id", "category_unknown"),
    ],
)
def test_products_breaking_a_rule_are_refused_naming_the_field(session, shop, overrides, field, code):
    with pytest.raises(InvalidInput) as caught:
        new_product(session, shop, **overrides)

    assert (caught.value.field, caught.value.code) == (field, code)
    assert session.exec(select(func.count(Product.id))).one() == 0


def test_a_list_price_equal_to_the_price_is_allowed(session, shop):
    assert new_product(session, shop, list_price_fen=19900).list_price_fen == 19900


def test_duplicate_product_slugs_conflict_on_create_and_update(session, shop):
    new_product(session, shop, slug="down-jacket")
    other = new_product(session, shop, slug="wool-scarf")

    with pytest.raises(Conflict) as on_create:
        new_product(session, shop, slug="down-jacket")
    with pytest.raises(Conflict) as on_update:
        catalog.update_product(session, actor_id=shop.owner_id, product_id=other.id, slug="down-jacket")

    assert on_create.value.field == on_update.value.field == "slug"
    assert session.get(Product, other.id).slug == "wool-scarf"


def test_another_merchant_cannot_add_or_edit_products_in_my_shop(session, shop, make_user):
    intruder = make_user(is_merchant=True)
    product = new_product(session, shop)

    with pytest.raises(Forbidden):
        new_product(session, shop, actor_id=intruder.id, slug="sneaky")
    with pytest.raises(Forbidden):
        catalog.update_product(session, actor_id=intruder.id, product_id=product.id, price_fen=1)


def test_owner_and_admin_hide_and_show_a_product_but_nobody_else(session, shop, make_user):
    product = new_product(session, shop, now=T0)
    admin = make_user(is_admin=True)

    hidden = catalog.set_product_hidden(session, product_id=product.id, actor_id=shop.owner_id, hidden=True)
    assert hidden.status == "hidden" and hidden.updated_at > T0
    shown = catalog.set_product_hidden(session, product_id=product.id, actor_id=admin.id, hidden=False)
    assert shown.status == "active"
    with pytest.raises(Forbidden):
        catalog.set_product_hidden(session, product_id=product.id, actor_id=make_user(is_merchant=True).id, hidden=True)
    with pytest.raises(NotFound):
        catalog.set_product_hidden(session, product_id=999999, actor_id=admin.id, hidden=True)


def test_upsert_category_creates_then_updates(session):
    first = catalog.upsert_category(session, slug="beauty", name_zh="美妆", name_en="Beauty", position=2)
    again = catalog.upsert_category(session, slug="beauty", name_zh="美妆护肤", name_en="Beauty & skincare", position=1)
    catalog.upsert_category(session, slug="apparel", name_zh="服饰", name_en="Apparel", position=3)

    assert again.id == first.id and again.name_zh == "美妆护肤"
    assert [c.slug for c in catalog.list_categories(session)] == ["beauty", "apparel"]


def test_product_images_keep_upload_order(session, shop):
    from zhongcao.media.models import Upload

    product = new_product(session, shop)
    uploads = [Upload(owner_id=shop.owner_id, filename=f"{n:032x}.png", content_type="image/png", width=10, height=10, byte_size=1, purpose="product") for n in range(2)]
    session.add_all(uploads)
    session.commit()

    first = catalog.add_product_image(session, product_id=product.id, actor_id=shop.owner_id, upload_id=uploads[0].id, alt="正面")
    second = catalog.add_product_image(session, product_id=product.id, actor_id=shop.owner_id, upload_id=uploads[1].id)

    assert (first.position, second.position) == (0, 1)
    assert [upload.id for _image, upload in catalog.list_product_images(session, product.id)] == [uploads[0].id, uploads[1].id]
    assert catalog.find_cover_images(session, [product.id])[product.id].id == uploads[0].id


def test_a_merchant_cannot_attach_someone_elses_upload(session, shop, make_user):
    from zhongcao.media.models import Upload

    product = new_product(session, shop)
    theirs = Upload(owner_id=make_user().id, filename="f" * 32 + ".png", content_type="image/png", width=1, height=1, byte_size=1)
    session.add(theirs)
    session.commit()

    with pytest.raises(Forbidden):
        catalog.add_product_image(session, product_id=product.id, actor_id=shop.owner_id, upload_id=theirs.id)


def add_article(session, author, product, *, slug, status="published", is_hidden=False, published_at=T0):
    article = Article(author_id=author.id, slug=slug, title=f"测评 {slug}", status=status, is_hidden=is_hidden, published_at=published_at)
    session.add(article)
    session.flush()
    session.add(ArticleProduct(article_id=article.id, product_id=product.id))
    session.commit()
    return article


def test_product_page_lists_only_published_visible_articles_newest_first(session, shop, make_user):
    product = new_product(session, shop)
    creator = make_user(is_creator=True, handle="lily_reviews")
    add_article(session, creator, product, slug="older", published_at=T0)
    add_article(session, creator, product, slug="newer", published_at=T0 + timedelta(days=1))
    add_article(session, creator, product, slug="draft", status="draft", published_at=None)
    add_article(session, creator, product, slug="hidden", is_hidden=True)

    page = catalog.get_product_page(session, slug="down-jacket", viewer_id=None)

    assert [a.slug for a in page.featured_in] == ["newer", "older"]
    assert page.featured_in[0].url == "/@lily_reviews/newer"
    assert page.shop.id == shop.id and page.can_edit is False


def test_hidden_products_are_not_found_except_by_owner_and_admin(session, shop, make_user):
    product = new_product(session, shop)
    catalog.set_product_hidden(session, product_id=product.id, actor_id=shop.owner_id, hidden=True)

    for viewer in (None, make_user().id, make_user(is_merchant=True).id):
        with pytest.raises(NotFound):
            catalog.get_product_page(session, slug=product.slug, viewer_id=viewer)
    assert catalog.get_product_page(session, slug=product.slug, viewer_id=shop.owner_id).can_edit
    assert catalog.get_product_page(session, slug=product.slug, viewer_id=make_user(is_admin=True).id).can_edit


@pytest.mark.parametrize(("stock", "state"), [(0, "sold_out"), (1, "low"), (5, "low"), (6, "in_stock")])
def test_stock_state_names_what_shoppers_see(stock, state):
    assert catalog.stock_state(stock) == state


def test_category_listing_shows_active_products_24_per_page(session, shop, make_product, make_category):
    category = make_category(slug="down")
    for n in range(25):
        make_product(shop=shop, slug=f"down-{n:02d}", category_id=category.id, created_at=T0 + timedelta(minutes=n))
    make_product(shop=shop, slug="down-hidden", category_id=category.id, status="hidden")

    first = catalog.list_category_products(session, slug="down")
    second = catalog.list_category_products(session, slug="down", page=2)

    assert (first.total, first.pages, len(first.products), first.has_next) == (25, 2, 24, True)
    assert first.products[0].slug == "down-24"
    assert [p.slug for p in second.products] == ["down-00"]
    with pytest.raises(NotFound):
        catalog.list_category_products(session, slug="down", page=3)
    with pytest.raises(NotFound):
        catalog.list_category_products(session, slug="no-such-category")


def test_shop_products_lists_hidden_ones_too(session, shop):
    new_product(session, shop, slug="one-item")
    new_product(session, shop, slug="two-item", status="hidden")

    assert {p.slug for p in catalog.list_shop_products(session, shop_id=shop.id)} == {"one-item", "two-item"}
