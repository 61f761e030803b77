"""Article pages, the editor with live preview, image uploads for articles, revisions, and the writing help page."""
from __future__ import annotations

import re
from functools import cache

import markdown
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from htmx_flask import request
from markupsafe import Markup
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from zhongcao import db_session
from zhongcao.articles import services as articles
from zhongcao.articles.models import KINDS, PUBLISHED
from zhongcao.articles.remote_images import RemoteImageFetcher
from zhongcao.config import PROJECT_ROOT
from zhongcao.errors import DomainError, NotFound
from zhongcao.extensions import limiter
from zhongcao.media.services import media_url, store_upload
from zhongcao.web import messages
from zhongcao.web.page_cache import cached_data, cached_page
from zhongcao.web.accounts import attach_error
from zhongcao.web.auth import current_user_id, role_required
from zhongcao.web.forms import REQUIRED

bp = Blueprint("articles", __name__)

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "gif"]
_TAG_SEPARATORS = re.compile(r"[,，、]")


class ArticleForm(FlaskForm):
    title = StringField("标题 Title", validators=[DataRequired(REQUIRED), Length(max=120)])
    kind = SelectField(
        "类型 Kind",
        choices=[SelectChoice(kind, f"{zh} {en}") for kind, (zh, en) in articles.KIND_LABELS.items() if kind in KINDS],
        default="review",
    )
    summary = TextAreaField("摘要 Summary", validators=[Optional(), Length(max=300)],
                            description="列表和搜索结果里显示 · Shown in lists and search results")
    tags = StringField("标签 Tags", validators=[Optional(), Length(max=200)],
                       description="用逗号分隔，最多 8 个 · Separate with commas, at most 8")
    slug = StringField("链接名 Slug", validators=[Optional(), Length(max=80)],
                       description="留空则按标题自动生成 · Leave empty to make one from the title")
    cover = FileField("封面 Cover image", validators=[FileAllowed(IMAGE_TYPES, "只能上传图片 · Images only")])
    remove_cover = BooleanField("移除封面 Remove cover")
    body_md = TextAreaField("正文 Text (Markdown)", validators=[Optional(), Length(max=articles.MAX_BODY)])


class ImageUploadForm(FlaskForm):
    image = FileField("图片 Image", validators=[FileRequired(REQUIRED), FileAllowed(IMAGE_TYPES, "只能上传图片 · Images only")])


@bp.route("/write", methods=["GET", "POST"])
@role_required("creator")
def new_article():
    form = ArticleForm()
    if form.is_submitted():
        return _submit(form, editable=None)
    return _editor(form, editable=None)


@bp.route("/write/<int:article_id>", methods=["GET", "POST"])
@role_required("creator")
def edit_article(article_id: int):
    editable = articles.get_article_for_editing(db_session(), article_id=article_id, author_id=current_user.id)
    if request.method == "POST":
        return _submit(ArticleForm(), editable=editable)
    article = editable.article
    form = ArticleForm(data={
        "title": article.title, "kind": article.kind, "summary": article.summary, "slug": article.slug,
        "tags": "，".join(editable.tags), "body_md": article.body_md,
    })
    return _editor(form, editable=editable)


def _submit(form: ArticleForm, *, editable: articles.EditableArticle | None):
    action = request.form.get("action", "draft")
    if action == "unpublish" and editable is not None:
        articles.unpublish_article(db_session(), article_id=editable.article.id, author_id=current_user.id)
        flash("已撤回为草稿 · Moved back to drafts", "info")
        return redirect(url_for("articles.edit_article", article_id=editable.article.id), code=303)
    if not form.validate_on_submit():
        return _editor(form, editable=editable, status=422)
    try:
        article = articles.save_article(db_session(), author_id=current_user.id, **_article_fields(form, editable))
    except DomainError as error:
        attach_error(form, error)
        return _editor(form, editable=editable, status=422)
    if action == "publish":
        try:
            article = articles.publish_article(db_session(), article_id=article.id, author_id=current_user.id)
        except articles.ArticleNotPublishable as error:
            editable = articles.get_article_for_editing(db_session(), article_id=article.id, author_id=current_user.id)
            return _editor(form, editable=editable, problems=error.problems, status=422)
        flash("已发布 · Published", "success")
        return redirect(_article_url(article), code=303)
    flash("已保存 · Saved" if article.status == PUBLISHED else "草稿已保存 · Draft saved", "success")
    return redirect(url_for("articles.edit_article", article_id=article.id), code=303)


def _article_fields(form: ArticleForm, editable: articles.EditableArticle | None) -> dict:
    """The save_article arguments from a valid form, storing a new cover image first."""
    cover_id = editable.article.cover_id if editable else None
    if form.remove_cover.data:
        cover_id = None
    if form.cover.data:
        try:
            cover_id = store_upload(db_session(), form.cover.data.stream, data_dir=current_app.config["DATA_DIR"],
                                    owner_id=current_user.id, purpose="cover").id
        except DomainError as error:
            error.field = "cover"
            raise
    fetch_image = None
    if current_app.config["FETCH_REMOTE_IMAGES"]:
        fetch_image = RemoteImageFetcher(db_session(), data_dir=current_app.config["DATA_DIR"], owner_id=current_user.id)
    return {
        "article_id": editable.article.id if editable else None,
        "title": form.title.data or "",
        "kind": form.kind.data,
        "summary": form.summary.data or "",
        "tags": [tag for tag in _TAG_SEPARATORS.split(form.tags.data or "") if tag.strip()],
        "slug": (form.slug.data or "").strip() or None,
        "cover_id": cover_id,
        "body_md": form.body_md.data or "",
        "fetch_image": fetch_image,
    }


def _editor(form: ArticleForm, *, editable: articles.EditableArticle | None, problems: list[str] | None = None, status: int = 200):
    body = form.body_md.data or ""
    preview = articles.preview(db_session(), body_md=body) if body.strip() else None
    return render_template(
        "articles/editor.html",
        form=form,
        editable=editable,
        preview=preview,
        problems=problems,
        problems_heading=messages.text("article_not_publishable"),
        image_form=ImageUploadForm(formdata=None),
        snippet=None,
        upload_errors=[],
    ), status


@bp.post("/write/preview")
@role_required("creator")
@limiter.limit("120 per minute", methods=["POST"])  # the live preview posts at most every 400 ms while typing
def preview_article():
    preview = articles.preview(db_session(), body_md=request.form.get("body_md", "")[: articles.MAX_BODY])
    if request.htmx.target == "article-preview":
        return render_template("articles/partials/article_preview.html", preview=preview)
    return render_template("articles/preview_page.html", preview=preview)


@bp.post("/write/images")
@role_required("creator")
@limiter.limit("30 per minute;300 per day", methods=["POST"])
def upload_image():
    form = ImageUploadForm()
    snippet, errors = None, []
    if form.validate_on_submit():
        try:
            upload = store_upload(db_session(), form.image.data.stream, data_dir=current_app.config["DATA_DIR"],
                                  owner_id=current_user.id, purpose="article")
        except DomainError as error:
            errors.append(messages.describe(error))
        else:
            snippet = f"![]({media_url(upload)})"
    else:
        errors = list(form.image.errors) or [messages.text("invalid_input")]
    status = 422 if errors else 200
    template = "articles/partials/image_snippet.html" if request.htmx.target == "image-snippet" else "articles/image_upload.html"
    return render_template(template, snippet=snippet, upload_errors=errors, image_form=form), status


@bp.get("/write/<int:article_id>/revisions")
@role_required("creator")
def list_revisions(article_id: int):
    editable = articles.get_article_for_editing(db_session(), article_id=article_id, author_id=current_user.id)
    revisions = articles.list_revisions(db_session(), article_id=article_id, author_id=current_user.id)
    return render_template("articles/revisions.html", article=editable.article, revisions=revisions)


@bp.get("/write/<int:article_id>/revisions/<int:number>")
@role_required("creator")
def show_revision(article_id: int, number: int):
    revision = articles.get_revision(db_session(), article_id=article_id, author_id=current_user.id, number=number)
    return render_template("articles/revision_detail.html", revision=revision, article_id=article_id)


@bp.get("/@<handle>/<slug>")
def show_article(handle: str, slug: str):
    # Views are counted by the page's beacon (share.record_article_view), not per render: the page may come from a cache.
    def render() -> str:
        page = _article_page(handle, slug)
        return render_template("articles/article_detail.html", page=page, seo=_seo(page))

    # The author sees their own page (edit link, draft notes); every other reader sees the shared one.
    return cached_page(render, personal_parts=not _is_own_handle(handle))


def _is_own_handle(handle: str) -> bool:
    return current_user.is_authenticated and current_user.handle_key == handle.strip().lstrip("@").lower()


def _article_page(handle: str, slug: str) -> articles.ArticlePage:
    """The public page data, shared by every reader until the content changes; the author gets their own."""
    viewer_id = current_user_id()
    key = ("article", handle.strip().lstrip("@").lower(), slug)
    try:
        page = cached_data(key, lambda: articles.get_article_page(db_session(), handle=handle, slug=slug, viewer_id=None))
    except NotFound:
        if viewer_id is None:
            raise
        return articles.get_article_page(db_session(), handle=handle, slug=slug, viewer_id=viewer_id)
    if viewer_id is not None and viewer_id == page.author.id:
        return articles.get_article_page(db_session(), handle=handle, slug=slug, viewer_id=viewer_id)
    return page


@bp.get("/help/writing")
def show_writing_help():
    return render_template("articles/writing_help.html", help_html=_writing_help_html())


@cache
def _writing_help_html() -> Markup:
    # docs/writing.md is ours (trusted) and the single source for this page and the repository docs.
    source = (PROJECT_ROOT / "docs" / "writing.md").read_text(encoding="utf-8")
    return Markup(markdown.markdown(source, extensions=["tables", "fenced_code"]))


def _article_url(article) -> str:
    # Only the author publishes, so the signed-in user's handle is the article's.
    return url_for("articles.show_article", handle=current_user.handle, slug=article.slug)


def _absolute(path: str) -> str:
    base = (current_app.config.get("SITE_URL") or request.url_root).rstrip("/")
    return base + path


def _seo(page: articles.ArticlePage) -> dict:
    """Canonical URL, description, OpenGraph values and JSON-LD for the article page."""
    article, author = page.article, page.author
    url = _absolute(url_for("articles.show_article", handle=author.handle, slug=article.slug))
    description = article.summary or f"{author.display_name} 的{page.kind_label[0]}：{article.title}"
    author_ld = {"@type": "Person", "name": author.display_name,
                 "url": _absolute(url_for("creators.show_storefront", handle=author.handle))}
    published = article.published_at.isoformat() if article.published_at else None
    json_ld = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "description": description,
        "author": author_ld,
        "datePublished": published,
        "dateModified": article.updated_at.isoformat(),
        "inLanguage": article.lang,
        "mainEntityOfPage": url,
    }
    if page.cover_url:
        json_ld["image"] = _absolute(page.cover_url)
    first = page.first_item
    if article.kind == "review" and first is not None:
        item, found = first
        json_ld["@type"] = "Review"
        json_ld["name"] = json_ld.pop("headline")
        json_ld["itemReviewed"] = {"@type": "Product", "name": found.product.title,
                                   "url": _absolute(f"/products/{found.product.slug}")}
        if found.product.brand:
            json_ld["itemReviewed"]["brand"] = {"@type": "Brand", "name": found.product.brand}
        if item.rating is not None:
            json_ld["reviewRating"] = {"@type": "Rating", "ratingValue": item.rating, "bestRating": "5", "worstRating": "0"}
    return {
        "url": url,
        "description": description[:200],
        "image": _absolute(page.cover_url) if page.cover_url else None,
        "json_ld": {key: value for key, value in json_ld.items() if value is not None},
        "indexable": article.status == PUBLISHED and not article.is_hidden,
    }
