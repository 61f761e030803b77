"""Filling block markers with current product data: what cards show, and one query for all blocks."""
from __future__ import annotations

from sqlalchemy import event
from sqlmodel import select

from zhongcao.articles.blocks import DISCLOSURE, fill_blocks, stars
from zhongcao.catalog.models import PRODUCT_HIDDEN, Product, ProductImage
from zhongcao.media.models import Upload


def _image_for(session, product, name):
    upload = Upload(filename=f"{name * 32}.png", content_type="image/png", width=10, height=10, byte_size=1)
    session.add(upload)
    session.commit()
    session.add(ProductImage(product_id=product.id, upload_id=upload.id, position=1))
    session.commit()
    return upload


def test_a_card_shows_current_product_data_and_the_authors_words(session, make_user, make_product, make_article):
    product = make_product(slug="down-jacket", title="超轻羽绒服", price_fen=49900, list_price_fen=69900, stock=0)
    _image_for(session, product, "c")
    article = make_article(body_md="::: product down-jacket\ncaption: 轻到忘记它\nrating: 4.5\npros: 轻; 暖\ncons: 贵\n:::\n")

    html = str(fill_blocks(session, article))

    assert "超轻羽绒服" in html and 'href="/products/down-jacket"' in html
    assert "¥499.00" in html and "¥699.00" in html
    assert "已售罄 · Sold out" in html
    assert f'src="/media/{"c" * 32}.png"' in html
    assert "轻到忘记它" in html and "★★★★½" in html and "轻；暖" in html and "贵" in html
    assert DISCLOSURE in html


def test_the_first_image_by_position_is_used(session, make_product, make_article):
    product = make_product(slug="two-images")
    _image_for(session, product, "e")
    first = Upload(filename=f"{'d' * 32}.png", content_type="image/png", width=1, height=1, byte_size=1)
    session.add(first)
    session.commit()
    session.add(ProductImage(product_id=product.id, upload_id=first.id, position=0))
    session.commit()
    article = make_article(body_md="::: product two-images\n:::\n")

    html = str(fill_blocks(session, article))

    assert f"{'d' * 32}.png" in html and f"{'e' * 32}.png" not in html


def test_no_disclosure_when_nothing_pays_commission(session, make_product, make_article):
    make_product(slug="plain", commission_bp=0)
    article = make_article(body_md="::: product plain\n:::\n")

    html = str(fill_blocks(session, article))

    assert DISCLOSURE not in html
    assert article.has_commission is False


def test_a_product_withdrawn_after_publishing_shows_no_longer_available(session, make_product, make_article):
    product = make_product(slug="soon-gone", title="很快下架")
    article = make_article(body_md="::: compare\nproduct: soon-gone\nrating: 3\n:::\n\n::: product soon-gone\n:::\n")

    product.status = PRODUCT_HIDDEN
    session.add(product)
    session.commit()
    html = str(fill_blocks(session, article))

    assert html.count("该商品已下架 · No longer available") == 2
    assert "¥" not in html and 'href="/products/soon-gone"' not in html


def test_a_product_that_does_not_exist_shows_no_longer_available(session, make_article):
    article = make_article(body_md="::: grid\nproduct: deleted-long-ago\ncaption: 以前很好用\n:::\n", publish=False)

    html = str(fill_blocks(session, article))

    assert "该商品已下架 · No longer available" in html and "以前很好用" in html


def test_all_blocks_are_filled_with_one_query(session, engine, make_shop, make_product, make_article):
    shop = make_shop()
    for n in range(12):
        make_product(shop=shop, slug=f"item-{n}")
    body = "\n\n".join(f"::: product item-{n}\n:::" for n in range(12)) + "\n\n::: grid\nproduct: item-0\nproduct: item-1\n:::\n"
    article = make_article(body_md=body)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    html = str(fill_blocks(session, article))

    assert html.count('class="product-card"') == 14
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_stars_show_half_steps():
    assert stars("4.5") == "★★★★½"
    assert stars("3") == "★★★☆☆"
    assert stars("0") == "☆☆☆☆☆"
    assert stars(None) == ""
