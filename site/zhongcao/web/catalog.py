"""Product pages, category listings, and the merchant's shop and product management."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from htmx_flask import make_response, request
from markupsafe import Markup
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from zhongcao import db_session
from zhongcao.catalog import services as catalog
from zhongcao.catalog.models import PRODUCT_ACTIVE, PRODUCT_HIDDEN, Product
from zhongcao.catalog.prices import parse_count, parse_percent, parse_yuan, percent_text, yuan_text
from zhongcao.errors import Conflict, InvalidInput
from zhongcao.media.services import media_url, store_upload
from zhongcao.web import messages
from zhongcao.web.accounts import attach_error
from zhongcao.web.auth import current_user_id, role_required
from zhongcao.web.forms import REQUIRED

bp = Blueprint("catalog", __name__)

# Forms live here rather than in web/forms.py only because that module belongs to another area right now.


class ShopForm(FlaskForm):
    name = StringField("店铺名称 Shop name", validators=[DataRequired(REQUIRED), Length(max=80)])
    slug = StringField(
        "店铺地址 Shop slug",
        validators=[Optional(), Length(max=80)],
        description="可留空，按名称自动生成 · Leave empty to make one from the name",
    )
    description = TextAreaField("店铺介绍 About the shop", validators=[Optional(), Length(max=2000)])


class ProductForm(FlaskForm):
    title = StringField("商品名称 Title", validators=[DataRequired(REQUIRED), Length(max=120)])
    slug = StringField(
        "商品地址 Slug",
        validators=[DataRequired(REQUIRED), Length(max=80)],
        description="小写字母、数字和连字符，例如 down-jacket-2024 · Lowercase letters, digits, hyphens",
    )
    brand = StringField("品牌 Brand", validators=[Optional(), Length(max=60)])
    price = StringField(
        "售价（元）Price (yuan)", validators=[Length(max=40)], render_kw={"inputmode": "decimal", "placeholder": "199.00"}
    )
    list_price = StringField(
        "划线价（元，可选）List price (yuan, optional)", validators=[Length(max=40)], render_kw={"inputmode": "decimal"}
    )
    stock = StringField("库存 Stock", validators=[Length(max=20)], render_kw={"inputmode": "numeric"})
    commission = StringField(
        "佣金比例（%）Commission (%)", validators=[Length(max=20)], render_kw={"inputmode": "decimal", "placeholder": "10"}
    )
    category_id = SelectField("分类 Category", coerce=int, default=0)
    status = SelectField(
        "状态 Status",
        choices=[SelectChoice(PRODUCT_ACTIVE, "在售 On sale"), SelectChoice(PRODUCT_HIDDEN, "已隐藏 Hidden")],
        default=PRODUCT_ACTIVE,
    )
    description_md = TextAreaField(
        "商品介绍 Description",
        validators=[Optional(), Length(max=20_000)],
        description="支持 Markdown：段落、列表、粗体、斜体、链接 · Markdown: paragraphs, lists, bold, italics, links",
    )


class ProductImageForm(FlaskForm):
    image = FileField(
        "商品图片 Product image",
        validators=[
            FileRequired("请选择图片 · Choose an image"),
            FileAllowed(["jpg", "jpeg", "png", "webp", "gif"], "只能上传图片 · Images only"),
        ],
    )
    alt = StringField("图片说明 Alt text", validators=[Optional(), Length(max=200)])


# Domain rules name the stored fields; merchants type prices in yuan and rates in percent.
_FORM_FIELDS = {"price_fen": "price", "list_price_fen": "list_price", "commission_bp": "commission"}


def _attach(form: FlaskForm, error: InvalidInput | Conflict) -> None:
    error.field = _FORM_FIELDS.get(error.field or "", error.field)
    attach_error(form, error)


def _commission_bounds() -> tuple[int, int]:
    return int(current_app.config["COMMISSION_MIN_BP"]), int(current_app.config["COMMISSION_MAX_BP"])


def _with_categories(form: ProductForm) -> ProductForm:
    form.category_id.choices = [SelectChoice(0, "未分类 None")] + [
        SelectChoice(category.id, f"{category.name_zh} {category.name_en}") for category in catalog.list_categories(db_session())
    ]
    return form


def _initial_data(product: Product) -> dict:
    return {
        "title": product.title,
        "slug": product.slug,
        "brand": product.brand,
        "price": yuan_text(product.price_fen),
        "list_price": yuan_text(product.list_price_fen) if product.list_price_fen is not None else "",
        "stock": str(product.stock),
        "commission": percent_text(product.commission_bp),
        "category_id": product.category_id or 0,
        "status": product.status,
        "description_md": product.description_md,
    }


def _product_fields(form: ProductForm) -> dict | None:
    """The form's values in domain units (fen, basis points), or None after attaching every parse error."""
    fields: dict = {
        "title": form.title.data,
        "slug": form.slug.data,
        "brand": form.brand.data or "",
        "description_md": form.description_md.data or "",
        "category_id": form.category_id.data or None,
        "status": form.status.data,
        "list_price_fen": None,
    }
    parsers = [("price_fen", parse_yuan, form.price), ("stock", parse_count, form.stock), ("commission_bp", parse_percent, form.commission)]
    if (form.list_price.data or "").strip():
        parsers.append(("list_price_fen", parse_yuan, form.list_price))
    failed = False
    for name, parse, field in parsers:
        try:
            fields[name] = parse(field.data, field=field.name)
        except InvalidInput as error:
            attach_error(form, error)
            failed = True
    return None if failed else fields


def _my_shop():
    return catalog.find_shop_of(db_session(), current_user.id)


def _to_shop_form():
    flash(messages.text("shop_required"), "info")
    return redirect(url_for("catalog.edit_shop"), code=303)


@bp.route("/shop", methods=["GET", "POST"])
@role_required("merchant")
def edit_shop():
    shop = _my_shop()
    form = ShopForm(obj=shop)
    if form.validate_on_submit():
        try:
            if shop is None:
                catalog.create_shop(
                    db_session(), owner_id=current_user.id, name=form.name.data,
                    slug=(form.slug.data or "").strip() or None, description=form.description.data or "",
                )
            else:
                catalog.update_shop(
                    db_session(), shop_id=shop.id, actor_id=current_user.id,
                    name=form.name.data, description=form.description.data or "",
                )
        except (InvalidInput, Conflict) as error:
            attach_error(form, error)
        else:
            flash("店铺已保存 · Shop saved", "success")
            return redirect(url_for("catalog.list_my_products"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/shop_form.html", form=form, shop=shop), status


@bp.get("/shop/products")
@role_required("merchant")
def list_my_products():
    shop = _my_shop()
    if shop is None:
        return _to_shop_form()
    products = catalog.list_shop_products(db_session(), shop_id=shop.id)
    return render_template("catalog/my_products.html", shop=shop, products=products)


@bp.route("/shop/products/new", methods=["GET", "POST"])
@role_required("merchant")
def new_product():
    shop = _my_shop()
    if shop is None:
        return _to_shop_form()
    form = _with_categories(ProductForm(data={"commission": "10"}))
    if form.validate_on_submit() and (fields := _product_fields(form)) is not None:
        try:
            product = catalog.create_product(
                db_session(), actor_id=current_user.id, shop_id=shop.id, commission_bounds=_commission_bounds(), **fields
            )
        except (InvalidInput, Conflict) as error:
            _attach(form, error)
        else:
            flash("商品已创建，可以添加图片了 · Product created; now add images", "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/product_form.html", form=form, shop=shop, product=None), status


@bp.route("/shop/products/<int:product_id>/edit", methods=["GET", "POST"])
@role_required("merchant")
def edit_product(product_id: int):
    product = catalog.get_editable_product(db_session(), product_id=product_id, actor_id=current_user.id)
    form = _with_categories(ProductForm(data=_initial_data(product)))
    if form.validate_on_submit() and (fields := _product_fields(form)) is not None:
        try:
            catalog.update_product(
                db_session(), actor_id=current_user.id, product_id=product_id, commission_bounds=_commission_bounds(), **fields
            )
        except (InvalidInput, Conflict) as error:
            _attach(form, error)
        else:
            flash("商品已保存 · Product saved", "success")
            return redirect(url_for("catalog.list_my_products"), code=303)
    status = 422 if form.is_submitted() else 200
    return _render_edit_page(product, form=form, image_form=ProductImageForm(formdata=None)), status


def _render_edit_page(product: Product, *, form: ProductForm, image_form: ProductImageForm) -> str:
    return render_template(
        "catalog/product_form.html",
        form=form,
        image_form=image_form,
        product=product,
        images=catalog.list_product_images(db_session(), product.id),
    )


@bp.post("/shop/products/<int:product_id>/images")
@role_required("merchant")
def add_image(product_id: int):
    product = catalog.get_editable_product(db_session(), product_id=product_id, actor_id=current_user.id)
    image_form = ProductImageForm()
    if image_form.validate_on_submit():
        try:
            upload = store_upload(
                db_session(), image_form.image.data.stream, data_dir=current_app.config["DATA_DIR"],
                owner_id=current_user.id, purpose="product",
            )
            catalog.add_product_image(
                db_session(), product_id=product.id, actor_id=current_user.id, upload_id=upload.id, alt=image_form.alt.data or ""
            )
        except InvalidInput as error:
            error.field = error.field or "image"
            attach_error(image_form, error)
        else:
            flash("图片已添加 · Image added", "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id), code=303)
    form = _with_categories(ProductForm(formdata=None, data=_initial_data(product)))
    return _render_edit_page(product, form=form, image_form=image_form), 422


@bp.post("/shop/products/<int:product_id>/visibility")
@role_required("merchant")
def set_visibility(product_id: int):
    hidden = request.form.get("hidden") == "1"
    product = catalog.set_product_hidden(db_session(), product_id=product_id, actor_id=current_user.id, hidden=hidden)
    if request.htmx.target == f"product-row-{product.id}":
        html = render_template("catalog/partials/product_row.html", product=product)
        return make_response(html, trigger="product-visibility-changed")
    flash("已隐藏 · Hidden" if hidden else "已上架 · Visible again", "success")
    return redirect(url_for("catalog.list_my_products"), code=303)


def _absolute_url(path: str) -> str:
    base = (current_app.config.get("SITE_URL") or "").rstrip("/") or request.host_url.rstrip("/")
    return base + path


def _summary(page: catalog.ProductPage) -> str:
    text = " ".join(Markup(page.product.description_html).striptags().split())
    if not text:
        return f"{page.product.title} · {page.shop.name}"
    return text if len(text) <= 150 else text[:149] + "…"


def _product_json_ld(page: catalog.ProductPage, url: str, description: str) -> dict:
    product = page.product
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "sku": product.slug,
        "url": url,
        "description": description,
        "image": [_absolute_url(media_url(upload)) for _image, upload in page.images],
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": yuan_text(product.price_fen),
            "priceCurrency": "CNY",
            "availability": "https://schema.org/OutOfStock" if product.stock <= 0 else "https://schema.org/InStock",
            "seller": {"@type": "Organization", "name": page.shop.name},
        },
    }
    if product.brand:
        data["brand"] = {"@type": "Brand", "name": product.brand}
    if page.category:
        data["category"] = page.category.name_zh
    return data


@bp.get("/products/<slug>")
def show_product(slug: str):
    page = catalog.get_product_page(db_session(), slug=slug, viewer_id=current_user_id())
    url = _absolute_url(url_for("catalog.show_product", slug=page.product.slug))
    description = _summary(page)
    return render_template(
        "catalog/product_detail.html",
        page=page,
        product=page.product,
        canonical_url=url,
        meta_description=description,
        og_image=_absolute_url(media_url(page.images[0][1])) if page.images else None,
        price_text=yuan_text(page.product.price_fen),
        structured_data=_product_json_ld(page, url, description),
    )


@bp.get("/categories/<slug>")
def show_category(slug: str):
    listing = catalog.list_category_products(db_session(), slug=slug, page=request.args.get("page", 1, type=int))
    return render_template(
        "catalog/category_detail.html",
        listing=listing,
        canonical_url=_absolute_url(url_for("catalog.show_category", slug=slug, page=listing.page if listing.page > 1 else None)),
    )
