"""Article operations: save (rendering and sanitising at save time), publish, unpublish, hide,
preview, the public article page, and revisions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from zhongcao.accounts.models import User
from zhongcao.articles import blocks as block_cards
from zhongcao.articles.markdown import BlockSpec, ImageFetcher, blocks_from_json, blocks_to_json, check_blocks, render
from zhongcao.articles.models import DRAFT, KINDS, PUBLISHED, Article, ArticleProduct, ArticleRevision, ArticleTag
from zhongcao.articles.slugs import MAX_LENGTH as MAX_SLUG_LENGTH
from zhongcao.articles.slugs import is_valid_slug, slug_for_title, unique_slug
from zhongcao.clock import utcnow
from zhongcao.db import atomic
from zhongcao.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from zhongcao.media.models import Upload

MAX_TITLE = 120
MAX_SUMMARY = 300
MAX_BODY = 100_000
MAX_TAGS = 8
MAX_TAG_LENGTH = 20
KIND_LABELS = {"review": ("测评", "Review"), "guide": ("攻略", "Guide"), "note": ("笔记", "Note")}


class ArticleNotPublishable(DomainError):
    """The article's blocks are malformed or name products that are unknown or not on sale."""

    code = "article_not_publishable"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__()
        self.problems = list(problems)


class NotACreator(Forbidden):
    code = "write_needs_creator"  # distinct from social's not_a_creator (following), which has its own message


class NotAnAdmin(Forbidden):
    code = "not_an_admin"


@dataclass(frozen=True)
class Preview:
    html: Markup  # sanitised, cards filled
    problems: list[str]
    blocks: list[BlockSpec]


@dataclass(frozen=True)
class ArticlePage:
    article: Article
    author: User
    tags: list[str]
    cover_url: str | None
    avatar_url: str | None
    body: Markup
    products: dict[str, block_cards.CardProduct]
    blocks: list[BlockSpec]
    is_author: bool

    @property
    def is_disclosed(self) -> bool:
        """The 广告 label shows when the article was saved with, or now features, a commissionable product."""
        featured = block_cards.block_slugs(self.blocks)
        return self.article.has_commission or any(
            self.products[slug].is_commissionable for slug in featured if slug in self.products
        )

    @property
    def kind_label(self) -> tuple[str, str]:
        return KIND_LABELS.get(self.article.kind, KIND_LABELS["note"])

    @property
    def first_item(self):
        """The first block item whose product is known: what a review is "of" in structured data."""
        for block in self.blocks:
            for item in block.items:
                if item.slug in self.products:
                    return item, self.products[item.slug]
        return None


@dataclass(frozen=True)
class EditableArticle:
    article: Article
    tags: list[str]
    cover_url: str | None


def save_article(
    session: Session,
    *,
    author_id: int,
    title: str,
    body_md: str,
    kind: str = "review",
    summary: str = "",
    tags: Sequence[str] = (),
    slug: str | None = None,
    cover_id: int | None = None,
    lang: str = "zh-CN",
    article_id: int | None = None,
    now: datetime | None = None,
    fetch_image: ImageFetcher | None = None,
) -> Article:
    """Create (article_id None) or update the author's article, rendering and sanitising its Markdown.

    Keeps a numbered revision whenever the title or body changes, syncs tags and featured products,
    and sets has_commission. Block problems do not stop a save, only publishing. `fetch_image`
    stores remote images (see remote_images.RemoteImageFetcher); without it they are dropped.
    Raises Forbidden (not a creator, or someone else's article), NotFound, InvalidInput, Conflict.
    """
    now = now or utcnow()
    title = _checked_title(title)
    kind, summary, body_md, lang = _checked_fields(kind, summary, body_md, lang)
    tags = normalise_tags(tags)
    if slug is not None and not is_valid_slug(slug := slug.strip().lower()):
        raise InvalidInput(field="slug", code="article_slug_invalid")
    _get_creator(session, author_id)
    article = _own_article(session, article_id, author_id) if article_id is not None else None
    if cover_id is not None:
        _check_cover(session, cover_id, author_id)

    rendered = render(body_md, fetch_image=fetch_image)  # may store fetched images: before our transaction
    for remote, local in rendered.image_rewrites.items():
        body_md = body_md.replace(remote, local)
    products = block_cards.load_products(session, block_cards.block_slugs(rendered.blocks))

    with atomic(session):
        if article is None:
            article = Article(author_id=author_id, slug=_free_slug(session, author_id, slug or slug_for_title(title), slug is not None),
                              title=title, created_at=now)
            body_changed = True
        else:
            body_changed = title != article.title or body_md != article.body_md
            if slug is not None and slug != article.slug:
                article.slug = _free_slug(session, author_id, slug, True)
        article.title = title
        article.kind = kind
        article.summary = summary
        article.lang = lang
        article.body_md = body_md
        article.body_html = rendered.html
        article.blocks_json = blocks_to_json(rendered.blocks)
        article.cover_id = cover_id
        article.has_commission = _has_commission(rendered.blocks, products)
        article.updated_at = now
        if body_changed:
            article.revision += 1
        session.add(article)
        session.flush()
        if body_changed:
            session.add(ArticleRevision(article_id=article.id, number=article.revision, title=title, body_md=body_md, created_at=now))
        _sync_tags(session, article.id, tags)
        _sync_products(session, article.id, rendered.blocks, products)
    return article


def publish_article(session: Session, *, article_id: int, author_id: int, now: datetime | None = None) -> Article:
    """Make the author's article public (first publication time is kept on republishing).

    Raises ArticleNotPublishable with the problems, Forbidden, or NotFound.
    """
    now = now or utcnow()
    _get_creator(session, author_id)
    article = _own_article(session, article_id, author_id)
    parsed = check_blocks(article.body_md)
    products = block_cards.load_products(session, block_cards.block_slugs(parsed.blocks))
    problems = parsed.problems + block_cards.product_problems(parsed.blocks, products)
    if problems:
        raise ArticleNotPublishable(problems)
    with atomic(session):
        article.status = PUBLISHED
        article.published_at = article.published_at or now
        article.has_commission = _has_commission(parsed.blocks, products)
        article.updated_at = now
        session.add(article)
    return article


def unpublish_article(session: Session, *, article_id: int, author_id: int) -> Article:
    """Turn the author's article back into a draft; raises Forbidden or NotFound."""
    article = _own_article(session, article_id, author_id)
    with atomic(session):
        article.status = DRAFT
        session.add(article)
    return article


def hide_article(session: Session, *, article_id: int, admin_id: int, hidden: bool = True) -> Article:
    """Hide an article from everyone but its author (or show it again); raises Forbidden or NotFound."""
    admin = session.get(User, admin_id)
    if admin is None or not admin.is_admin or not admin.is_active:
        raise NotAnAdmin()
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound()
    with atomic(session):
        article.is_hidden = hidden
        session.add(article)
    return article


def preview(session: Session, *, body_md: str) -> Preview:
    """Render Markdown as the article page would show it, with its problems; writes nothing."""
    rendered = render(body_md[:MAX_BODY])
    filled = block_cards.fill(session, rendered.html, rendered.blocks)
    problems = rendered.problems + block_cards.product_problems(rendered.blocks, filled.products)
    return Preview(html=filled.html, problems=problems, blocks=rendered.blocks)


_Cover = aliased(Upload, name="article_cover")
_Avatar = aliased(Upload, name="author_avatar")


def get_article_page(session: Session, *, handle: str, slug: str, viewer_id: int | None) -> ArticlePage:
    """Everything the article page shows, in a fixed number of queries however many blocks it has.

    Raises NotFound for a draft, a hidden article or an inactive author, unless the viewer is the author.
    """
    row = session.exec(
        select(Article, User, _Cover.filename, _Avatar.filename)
        .join(User, User.id == Article.author_id)
        .outerjoin(_Cover, _Cover.id == Article.cover_id)
        .outerjoin(_Avatar, _Avatar.id == User.avatar_id)
        .where(User.handle_key == handle.strip().lstrip("@").lower(), Article.slug == slug)
    ).first()
    if row is None:
        raise NotFound()
    article, author, cover, avatar = row
    is_author = viewer_id is not None and viewer_id == author.id
    if not is_author and (article.status != PUBLISHED or article.is_hidden or not author.is_active):
        raise NotFound()
    tags = list(session.exec(select(ArticleTag.tag).where(ArticleTag.article_id == article.id).order_by(ArticleTag.tag)))
    blocks = blocks_from_json(article.blocks_json)
    filled = block_cards.fill(session, article.body_html, blocks)
    return ArticlePage(
        article=article,
        author=author,
        tags=tags,
        cover_url=f"/media/{cover}" if cover else None,
        avatar_url=f"/media/{avatar}" if avatar else None,
        body=filled.html,
        products=filled.products,
        blocks=blocks,
        is_author=is_author,
    )


def record_view(session: Session, *, article_id: int) -> None:
    """Count one reader's view (feeds "popular"); a single conditional UPDATE, no read."""
    with atomic(session):
        session.exec(update(Article).where(Article.id == article_id).values(view_count=Article.view_count + 1))


def get_article_for_editing(session: Session, *, article_id: int, author_id: int) -> EditableArticle:
    """The author's own article with its tags and cover; raises Forbidden or NotFound."""
    article = _own_article(session, article_id, author_id)
    tags = list(session.exec(select(ArticleTag.tag).where(ArticleTag.article_id == article.id).order_by(ArticleTag.tag)))
    cover = session.get(Upload, article.cover_id) if article.cover_id else None
    return EditableArticle(article, tags, f"/media/{cover.filename}" if cover else None)


def list_revisions(session: Session, *, article_id: int, author_id: int) -> list[ArticleRevision]:
    """The article's kept revisions, newest first; raises Forbidden or NotFound."""
    _own_article(session, article_id, author_id)
    return list(session.exec(
        select(ArticleRevision).where(ArticleRevision.article_id == article_id).order_by(ArticleRevision.number.desc())
    ))


def get_revision(session: Session, *, article_id: int, author_id: int, number: int) -> ArticleRevision:
    """One kept revision of the author's article; raises Forbidden or NotFound."""
    _own_article(session, article_id, author_id)
    revision = session.exec(
        select(ArticleRevision).where(ArticleRevision.article_id == article_id, ArticleRevision.number == number)
    ).first()
    if revision is None:
        raise NotFound()
    return revision


def published_articles_query(*, author_id: int | None = None, tag: str | None = None) -> SelectOfScalar[Article]:
    """Public articles (published, not hidden), newest first; narrow by author or tag."""
    query = select(Article).where(Article.status == PUBLISHED, Article.is_hidden == False)  # noqa: E712
    if author_id is not None:
        query = query.where(Article.author_id == author_id)
    if tag is not None:
        query = query.join(ArticleTag, ArticleTag.article_id == Article.id).where(ArticleTag.tag == tag)
    return query.order_by(Article.published_at.desc(), Article.id.desc())


def normalise_tags(tags: Sequence[str]) -> list[str]:
    """Trimmed tags without a leading #, duplicates (ignoring case) removed; raises InvalidInput."""
    seen: dict[str, str] = {}
    for tag in tags:
        tag = " ".join(str(tag).split()).lstrip("#＃").strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    result = list(seen.values())
    if len(result) > MAX_TAGS:
        raise InvalidInput(field="tags", code="article_too_many_tags")
    if any(len(tag) > MAX_TAG_LENGTH for tag in result):
        raise InvalidInput(field="tags", code="article_tag_too_long")
    return result


def _checked_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput(field="title", code="article_title_required")
    if len(title) > MAX_TITLE:
        raise InvalidInput(field="title", code="article_title_too_long")
    return title


def _checked_fields(kind: str, summary: str, body_md: str, lang: str) -> tuple[str, str, str, str]:
    if kind not in KINDS:
        raise InvalidInput(field="kind", code="article_kind_invalid")
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise InvalidInput(field="summary", code="article_summary_too_long")
    body_md = (body_md or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(body_md) > MAX_BODY:
        raise InvalidInput(field="body_md", code="article_body_too_long")
    lang = (lang or "zh-CN").strip()
    if not lang or len(lang) > 10 or not all(ch.isalnum() or ch == "-" for ch in lang):
        raise InvalidInput(field="lang", code="article_lang_invalid")
    return kind, summary, body_md, lang


def _get_creator(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_creator or not user.is_active:
        raise NotACreator()
    return user


def _own_article(session: Session, article_id: int, author_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound()
    if article.author_id != author_id:
        raise Forbidden()
    return article


def _check_cover(session: Session, cover_id: int, author_id: int) -> None:
    upload = session.get(Upload, cover_id)
    if upload is None or upload.owner_id not in (None, author_id):
        raise InvalidInput(field="cover", code="article_cover_invalid")


def _free_slug(session: Session, author_id: int, wanted: str, exact: bool) -> str:
    """`wanted` if this author has no article with it; otherwise Conflict (exact) or the next free suffix."""
    wanted = wanted[: MAX_SLUG_LENGTH - 4].strip("-")
    taken = set(session.exec(
        select(Article.slug).where(Article.author_id == author_id, Article.slug.startswith(wanted))
    ))
    if wanted not in taken:
        return wanted
    if exact:
        raise Conflict(field="slug", code="article_slug_taken")
    return unique_slug(wanted, taken)


def _has_commission(blocks: list[BlockSpec], products: dict[str, block_cards.CardProduct]) -> bool:
    return any(
        products[slug].is_commissionable for slug in block_cards.block_slugs(blocks) if slug in products
    )


def _sync_tags(session: Session, article_id: int, tags: list[str]) -> None:
    existing = {row.tag: row for row in session.exec(select(ArticleTag).where(ArticleTag.article_id == article_id))}
    for tag, row in existing.items():
        if tag not in tags:
            session.delete(row)
    for tag in tags:
        if tag not in existing:
            session.add(ArticleTag(article_id=article_id, tag=tag))


def _sync_products(session: Session, article_id: int, blocks: list[BlockSpec], products: dict[str, block_cards.CardProduct]) -> None:
    wanted = {}
    for slug in block_cards.block_slugs(blocks):
        if slug in products:
            wanted.setdefault(products[slug].product.id, len(wanted))
    existing = {row.product_id: row for row in session.exec(select(ArticleProduct).where(ArticleProduct.article_id == article_id))}
    for product_id, row in existing.items():
        if product_id not in wanted:
            session.delete(row)
        else:
            row.position = wanted[product_id]
            session.add(row)
    for product_id, position in wanted.items():
        if product_id not in existing:
            session.add(ArticleProduct(article_id=article_id, product_id=product_id, position=position))
