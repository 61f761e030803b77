"""Search documents built from the database: what each backend indexes, and nothing else.

Indexed: published, not hidden articles by active authors; active products of active shops' owners;
active creators. `documents_for` answers for a set of keys (absent keys are the ones to delete),
`all_documents` streams everything in batches of a few hundred rows for `reindex`.

A document's version hashes every indexed field except popularity (views and follows change all
the time and only reorder results), so `search-check` can tell a stale document from a fresh one.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from sqlalchemy import func
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article, ArticleProduct, ArticleTag
from zhongcao.catalog.models import PRODUCT_ACTIVE, Category, Product, Shop
from zhongcao.catalog.services import cover_image_urls
from zhongcao.media.models import Upload
from zhongcao.search import Document, DocumentKey
from zhongcao.social.models import ArticleCollect, ArticleLike, Follow

BATCH = 500
MAX_BODY_CHARS = 20_000  # the indexed text of one article; longer bodies are cut
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_KIND_TAGS = {"review": "测评 review", "guide": "攻略 guide", "note": "笔记 note"}


def plain_text(markup: str) -> str:
    """Visible text of stored, sanitised HTML: tags dropped, entities decoded, spaces collapsed."""
    return _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", markup or ""))).strip()


def version_of(**fields) -> str:
    """A short, stable hash of the fields a document is indexed with."""
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


def _document(**fields) -> Document:
    versioned = {name: value for name, value in fields.items() if name not in ("popularity", "version")}
    return Document(version=version_of(**versioned), **fields)


def documents_for(session: Session, keys: Iterable[DocumentKey]) -> list[Document]:
    """The documents for these keys that should be in the index; keys without one should be deleted."""
    ids: dict[str, set[int]] = defaultdict(set)
    for kind, item_id in keys:
        ids[kind].add(int(item_id))
    documents: list[Document] = []
    for kind, builder in _BUILDERS.items():
        wanted = sorted(ids.get(kind, ()))
        for start in range(0, len(wanted), BATCH):
            documents.extend(builder(session, wanted[start:start + BATCH]))
    return documents


def all_documents(session: Session) -> Iterator[Document]:
    """Every document that belongs in the index, built in batches (memory stays small)."""
    for kind, builder in _BUILDERS.items():
        for batch in _id_batches(session, _ID_QUERIES[kind]()):
            yield from builder(session, batch)


def all_keys(session: Session) -> set[DocumentKey]:
    """The keys of every document that belongs in the index (cheap: ids only)."""
    keys: set[DocumentKey] = set()
    for kind, query in _ID_QUERIES.items():
        keys.update((kind, item_id) for item_id in session.exec(query()))
    return keys


def keys_of_authors(session: Session, user_ids: Iterable[int]) -> set[DocumentKey]:
    """Every article of these authors: their name and status show in (or hide) those documents."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return set()
    rows = session.exec(select(Article.id).where(Article.author_id.in_(wanted)))
    return {("article", article_id) for article_id in rows}


def keys_of_shops(session: Session, shop_ids: Iterable[int]) -> set[DocumentKey]:
    """Every product of these shops: the shop name is part of each product's document."""
    wanted = sorted(set(shop_ids))
    if not wanted:
        return set()
    rows = session.exec(select(Product.id).where(Product.shop_id.in_(wanted)))
    return {("product", product_id) for product_id in rows}


def keys_of_categories(session: Session, category_ids: Iterable[int]) -> set[DocumentKey]:
    """Every product in these categories: the category names are indexed with each product."""
    wanted = sorted(set(category_ids))
    if not wanted:
        return set()
    rows = session.exec(select(Product.id).where(Product.category_id.in_(wanted)))
    return {("product", product_id) for product_id in rows}


def _id_batches(session: Session, query) -> Iterator[list[int]]:
    ids = list(session.exec(query))
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def _public_product_ids():
    return (
        select(Product.id)
        .join(Shop, Shop.id == Product.shop_id)
        .join(User, User.id == Shop.owner_id)
        .where(Product.status == PRODUCT_ACTIVE, User.is_active.is_(True))
        .order_by(Product.id)
    )


def _public_article_ids():
    return (
        select(Article.id)
        .join(User, User.id == Article.author_id)
        .where(
            Article.status == PUBLISHED,
            Article.is_hidden.is_(False),
            Article.published_at.is_not(None),
            User.is_active.is_(True),
        )
        .order_by(Article.id)
    )


def _public_creator_ids():
    return select(User.id).where(User.is_creator.is_(True), User.is_active.is_(True)).order_by(User.id)


def _product_documents(session: Session, ids: Sequence[int]) -> list[Document]:
    rows = session.exec(
        select(Product, Shop.name, Category)
        .join(Shop, Shop.id == Product.shop_id)
        .join(User, User.id == Shop.owner_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.id.in_(ids), Product.status == PRODUCT_ACTIVE, User.is_active.is_(True))
        .order_by(Product.id)
    ).all()
    if not rows:
        return []
    images = cover_image_urls(session, [product.id for product, _shop, _category in rows])
    featured = dict(
        session.exec(
            select(ArticleProduct.product_id, func.count())
            .where(ArticleProduct.product_id.in_(ids))
            .group_by(ArticleProduct.product_id)
        ).all()
    )
    documents = []
    for product, shop_name, category in rows:
        tags = [product.brand, shop_name]
        if category is not None:
            tags += [category.name_zh, category.name_en]
        documents.append(_document(
            kind="product",
            id=product.id,
            title=product.title,
            tags=" ".join(tag for tag in tags if tag),
            body=plain_text(product.description_html)[:MAX_BODY_CHARS],
            url=f"/products/{product.slug}",
            published_at=product.created_at,
            popularity=int(featured.get(product.id, 0)),
            category=category.slug if category is not None else None,
            price_fen=product.price_fen,
            in_stock=product.stock > 0,
            image_url=images.get(product.id),
            subtitle=shop_name,
        ))
    return documents


def _article_documents(session: Session, ids: Sequence[int]) -> list[Document]:
    rows = session.exec(
        select(Article, User, Upload.filename)
        .join(User, User.id == Article.author_id)
        .outerjoin(Upload, Upload.id == Article.cover_id)
        .where(
            Article.id.in_(ids),
            Article.status == PUBLISHED,
            Article.is_hidden.is_(False),
            Article.published_at.is_not(None),
            User.is_active.is_(True),
        )
        .order_by(Article.id)
    ).all()
    if not rows:
        return []
    found = [article.id for article, _author, _cover in rows]
    tags: dict[int, list[str]] = defaultdict(list)
    for article_id, tag in session.exec(
        select(ArticleTag.article_id, ArticleTag.tag).where(ArticleTag.article_id.in_(found)).order_by(ArticleTag.tag)
    ):
        tags[article_id].append(tag)
    likes = _counts(session, ArticleLike.article_id, found)
    collects = _counts(session, ArticleCollect.article_id, found)
    documents = []
    for article, author, cover in rows:
        body = " ".join(part for part in (article.summary, plain_text(article.body_html), _block_text(article.blocks_json)) if part)
        documents.append(_document(
            kind="article",
            id=article.id,
            title=article.title,
            tags=" ".join([*tags[article.id], _KIND_TAGS.get(article.kind, "")]).strip(),
            body=body[:MAX_BODY_CHARS],
            url=f"/@{author.handle}/{article.slug}",
            published_at=article.published_at,
            popularity=article.view_count + 5 * likes.get(article.id, 0) + 10 * collects.get(article.id, 0),
            image_url=f"/media/{cover}" if cover else None,
            subtitle=f"{author.display_name} @{author.handle}",
        ))
    return documents


def _block_text(blocks_json: str) -> str:
    """Captions, pros and cons the author wrote in product blocks: searchable text too."""
    try:
        blocks = json.loads(blocks_json or "[]")
    except ValueError:
        return ""
    words: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        words.append(str(block.get("title") or ""))
        for item in block.get("items") or []:
            if isinstance(item, dict):
                words.append(str(item.get("caption") or ""))
                words.extend(str(text) for text in (item.get("pros") or []) + (item.get("cons") or []))
    return " ".join(word for word in words if word)


def _counts(session: Session, column, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(session.exec(select(column, func.count()).where(column.in_(ids)).group_by(column)).all())


def _creator_documents(session: Session, ids: Sequence[int]) -> list[Document]:
    rows = session.exec(
        select(User, Upload.filename)
        .outerjoin(Upload, Upload.id == User.avatar_id)
        .where(User.id.in_(ids), User.is_creator.is_(True), User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    if not rows:
        return []
    found = [user.id for user, _avatar in rows]
    followers = _counts(session, Follow.creator_id, found)
    return [
        _document(
            kind="creator",
            id=user.id,
            title=f"{user.display_name} @{user.handle}",
            tags=f"{user.handle} 达人 creator",
            body=user.bio,
            url=f"/@{user.handle}",
            published_at=user.created_at,
            popularity=int(followers.get(user.id, 0)),
            image_url=f"/media/{avatar}" if avatar else None,
            subtitle=f"@{user.handle}",
        )
        for user, avatar in rows
    ]


_BUILDERS = {"product": _product_documents, "article": _article_documents, "creator": _creator_documents}
_ID_QUERIES = {"product": _public_product_ids, "article": _public_article_ids, "creator": _public_creator_ids}

