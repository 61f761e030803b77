"""Keeping the search index in step with the database, without any domain function asking for it.

Every flush notes which search documents it may have changed (articles, their tags and products,
products and their images, users, shops, categories); right after the commit, the documents for
those keys are built afresh in a new session and written to the engine's backend. A rollback
forgets them. The backend's writer lock is held across reading and writing, so when two workers
change the same article the later read is also the later write and no update is lost.

An index failure never fails the request that committed: it is logged, and `zhongcao search-check`
reports the difference until the next change or `zhongcao reindex` repairs it.
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

from sqlalchemy import bindparam, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import attributes
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlmodel import select

from zhongcao.accounts.models import User
from zhongcao.articles.models import Article, ArticleProduct, ArticleTag
from zhongcao.catalog.models import Category, Product, ProductImage, Shop
from zhongcao.db import new_session
from zhongcao.search import DocumentKey, SearchBackend
from zhongcao.search import documents as search_documents

_PENDING = "zhongcao_search_pending"
_log = logging.getLogger(__name__)
_backends: weakref.WeakKeyDictionary[Engine, SearchBackend] = weakref.WeakKeyDictionary()

# Attributes whose change alters an indexed document; others (view counts, password hashes) don't.
ARTICLE_FIELDS = frozenset({"title", "summary", "body_html", "blocks_json", "status", "is_hidden", "published_at",
                            "cover_id", "author_id", "slug", "kind"})
PRODUCT_FIELDS = frozenset({"title", "brand", "description_html", "price_fen", "stock", "status", "category_id",
                            "slug", "shop_id", "created_at"})
USER_FIELDS = frozenset({"handle", "display_name", "bio", "avatar_id", "is_creator", "is_active"})
SHOP_FIELDS = frozenset({"name", "owner_id"})
CATEGORY_FIELDS = frozenset({"slug", "name_zh", "name_en"})
_BULK_TRACKED = {Article: ("article", ARTICLE_FIELDS), Product: ("product", PRODUCT_FIELDS), User: ("creator", USER_FIELDS)}


@dataclass
class Changes:
    """What a transaction touched, as search keys plus the rows whose change spreads to others."""

    keys: set[DocumentKey] = field(default_factory=set)
    users: set[int] = field(default_factory=set)  # their creator document, articles and shop's products
    shops: set[int] = field(default_factory=set)
    categories: set[int] = field(default_factory=set)
    # Products whose stock only went down: their document changes only if it reached zero (sold out).
    stock_taken: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.users or self.shops or self.categories or self.stock_taken)


def register(engine: Engine, backend: SearchBackend) -> None:
    """Send index updates for commits on `engine` to `backend` (create_app calls this)."""
    _backends[engine] = backend


def unregister(engine: Engine) -> None:
    _backends.pop(engine, None)


def backend_for(engine: Engine) -> SearchBackend | None:
    return _backends.get(engine)


def _changed(instance, names: frozenset[str]) -> bool:
    state = attributes.instance_state(instance)
    return any(state.attrs[name].history.has_changes() for name in names if name in state.attrs)


def _stock_crossed_zero(product: Product) -> bool:
    history = attributes.instance_state(product).attrs["stock"].history
    if not history.has_changes():
        return False
    before = [value for value in history.deleted if value is not None]
    return not before or (before[0] > 0) != ((product.stock or 0) > 0)


def _product_changed(product: Product) -> bool:
    return _changed(product, PRODUCT_FIELDS - {"stock"}) or _stock_crossed_zero(product)


def _note(changes: Changes, instance, is_dirty: bool) -> None:
    if isinstance(instance, Article):
        if not is_dirty or _changed(instance, ARTICLE_FIELDS):
            changes.keys.add(("article", instance.id))
    elif isinstance(instance, (ArticleTag, ArticleProduct)):
        changes.keys.add(("article", instance.article_id))
    elif isinstance(instance, Product):
        if not is_dirty or _product_changed(instance):
            changes.keys.add(("product", instance.id))
    elif isinstance(instance, ProductImage):
        changes.keys.add(("product", instance.product_id))
    elif isinstance(instance, User):
        if not is_dirty or _changed(instance, USER_FIELDS):
            changes.users.add(instance.id)
    elif isinstance(instance, Shop):
        if not is_dirty or _changed(instance, SHOP_FIELDS):
            changes.shops.add(instance.id)
    elif isinstance(instance, Category):
        if not is_dirty or _changed(instance, CATEGORY_FIELDS):
            changes.categories.add(instance.id)


def _pending(session: OrmSession) -> Changes:
    changes = session.info.get(_PENDING)
    if changes is None:
        changes = session.info[_PENDING] = Changes()
    return changes


@event.listens_for(OrmSession, "after_flush")
def _collect(session: OrmSession, _context) -> None:
    changes = _pending(session)
    for instance in session.new:
        _note(changes, instance, False)
    for instance in session.deleted:
        _note(changes, instance, False)
    for instance in session.dirty:
        _note(changes, instance, True)


@event.listens_for(OrmSession, "do_orm_execute")
def _collect_bulk(state) -> None:
    """UPDATE/DELETE statements run through the session (conditional stock updates) bypass the flush."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    tracked = _BULK_TRACKED.get(mapper.class_) if mapper is not None else None
    if tracked is None:
        return
    kind, names = tracked
    if state.is_update and not _touches(state.statement, names):
        return
    ids = _ids_in_where(state.statement, mapper.local_table, state.parameters)
    changes = _pending(state.session)
    if ids is None:
        _log.warning("a bulk %s on %s changed unknown rows; the search index may be stale until `zhongcao reindex`",
                     "update" if state.is_update else "delete", mapper.local_table.name)
        return
    if kind == "creator":
        changes.users.update(ids)
    elif kind == "product" and state.is_update and _only_takes_stock(state.statement):
        # Checkout's conditional `stock = stock - q`: re-indexing every sale would cost a third of
        # a worker's time, and the document only changes when the product sells out.
        changes.stock_taken.update(ids)
    else:
        changes.keys.update((kind, item_id) for item_id in ids)


def _only_takes_stock(statement) -> bool:
    values = getattr(statement, "_values", None) or {}
    if [getattr(column, "key", str(column)) for column in values] != ["stock"]:
        return False
    (value,) = values.values()
    return isinstance(value, BinaryExpression) and value.operator is operators.sub


def _touches(statement, names: frozenset[str]) -> bool:
    values = getattr(statement, "_values", None)
    if not values:
        return True
    return any(getattr(column, "key", str(column)) in names for column in values)


def _ids_in_where(statement, table, parameters=None) -> set[int] | None:
    """The primary keys an UPDATE/DELETE names in `id = :x` or `id IN (...)`, or None if it names none.

    A prebuilt statement's `bindparam("x")` has no value of its own: it comes from the execution's parameters.
    """
    given = parameters if isinstance(parameters, dict) else {}
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    ids: set[int] = set()
    for element in visitors.iterate(where):
        if not isinstance(element, BinaryExpression):
            continue
        left, right = element.left, element.right
        if getattr(left, "table", None) is not table or getattr(left, "key", None) != "id":
            continue
        if not isinstance(right, BindParameter):
            continue
        value = right.value if right.value is not None else right.effective_value
        if value is None:
            value = given.get(right.key)
        if element.operator is operators.eq and isinstance(value, int):
            ids.add(value)
        elif element.operator is operators.in_op and isinstance(value, (list, tuple)):
            ids.update(int(item) for item in value)
    return ids or None


_PRODUCTS = Product.__table__
_SOLD_OUT = select(_PRODUCTS.c.id).where(_PRODUCTS.c.id.in_(bindparam("ids", expanding=True)), _PRODUCTS.c.stock <= 0)


@event.listens_for(OrmSession, "before_commit")
def _resolve_stock_taken(session: OrmSession) -> None:
    """Keep only the products a sale left with no stock, read in the committing transaction itself.

    Most sales leave stock behind and change no document, so the commit then needs no index work at
    all (no session of its own, no index writer lock). The read sees this transaction's own UPDATE; a
    later sale that empties the product sees its own, so no sell-out is missed.
    """
    if session.in_nested_transaction():
        return
    changes = session.info.get(_PENDING)
    if changes is None or not changes.stock_taken:
        return
    ids = sorted(changes.stock_taken)
    changes.stock_taken.clear()
    sold_out = session.connection().execute(_SOLD_OUT, {"ids": ids}).scalars()
    changes.keys.update(("product", product_id) for product_id in sold_out)


@event.listens_for(OrmSession, "after_commit")
def _apply_after_commit(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the transaction has not committed yet
    changes = session.info.pop(_PENDING, None)
    if not changes:
        return
    try:
        engine = session.get_bind()
    except Exception:  # an unbound session cannot have committed anything we index
        return
    backend = backend_for(getattr(engine, "engine", engine))
    if backend is not None:
        apply_changes(engine, backend, changes)


@event.listens_for(OrmSession, "after_rollback")
def _forget_on_rollback(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)


def apply_changes(engine: Engine, backend: SearchBackend, changes: Changes) -> bool:
    """Write the current documents for `changes` to `backend`; False (and a log entry) if that failed."""
    try:
        with _write_lock(backend):
            with new_session(engine) as session:
                keys = expand(session, changes)
                keys |= _sold_out(session, changes.stock_taken)
                documents = search_documents.documents_for(session, keys)
            present = {document.key for document in documents}
            if documents:
                backend.upsert(documents)
            gone = sorted(keys - present)
            if gone:
                backend.delete(gone)
        return True
    except Exception:
        _log.exception("search index update failed for %d change(s); `zhongcao search-check` will report it",
                       len(changes.keys) + len(changes.users) + len(changes.shops) + len(changes.categories)
                       + len(changes.stock_taken))
        return False


def _sold_out(session, product_ids: set[int]) -> set[DocumentKey]:
    if not product_ids:
        return set()
    rows = session.execute(_SOLD_OUT, {"ids": sorted(product_ids)}).scalars()
    return {("product", product_id) for product_id in rows}


def expand(session, changes: Changes) -> set[DocumentKey]:
    """Every key `changes` may have altered: a user's change reaches their articles and shop products."""
    keys = set(changes.keys)
    keys.update(("creator", user_id) for user_id in changes.users)
    keys |= search_documents.keys_of_authors(session, changes.users)
    shops = set(changes.shops)
    if changes.users:
        shops.update(session.exec(_shop_ids_of(changes.users)))
    keys |= search_documents.keys_of_shops(session, shops)
    keys |= search_documents.keys_of_categories(session, changes.categories)
    return keys


def _shop_ids_of(user_ids: Iterable[int]):
    from sqlmodel import select

    return select(Shop.id).where(Shop.owner_id.in_(sorted(user_ids)))


def _write_lock(backend: SearchBackend):
    lock = getattr(backend, "write_lock", None)
    return lock() if lock is not None else nullcontext()


def reindex(engine: Engine, backend: SearchBackend) -> int:
    """Rebuild the backend's index from every document in the database; returns how many."""
    count = 0

    def counted(documents):
        nonlocal count
        for document in documents:
            count += 1
            yield document

    with new_session(engine) as session:
        backend.rebuild(counted(search_documents.all_documents(session)))
    return count


@dataclass(frozen=True)
class CheckReport:
    missing: list[DocumentKey]
    stale: list[DocumentKey]
    extra: list[DocumentKey]
    checked: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def check(engine: Engine, backend: SearchBackend) -> CheckReport:
    """Compare the index with the database: documents missing from it, stale in it, or extra."""
    with new_session(engine) as session:
        expected = {document.key: document.version for document in search_documents.all_documents(session)}
    indexed = backend.indexed_versions()
    return CheckReport(
        missing=sorted(key for key in expected if key not in indexed),
        stale=sorted(key for key, version in expected.items() if key in indexed and indexed[key] != version),
        extra=sorted(key for key in indexed if key not in expected),
        checked=len(expected),
    )
