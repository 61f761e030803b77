"""Upsert checked content through the domains' public functions: categories, accounts and shops, products, articles.

Each row is compared with what the file says first, so an unchanged file costs reads only: no UPDATE,
no new article revision, no bumped `updated_at`. Each file's writes share one transaction, so a file
that a domain function refuses half-way leaves nothing behind.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, select

from zhongcao.accounts import passwords
from zhongcao.accounts.models import User
from zhongcao.accounts.services import (
    create_account,
    find_user_by_email,
    find_user_by_handle,
    set_roles,
    update_profile,
)
from zhongcao.articles import services as articles
from zhongcao.articles.models import PUBLISHED, Article, ArticleTag
from zhongcao.catalog import services as catalog
from zhongcao.catalog.models import PRODUCT_ACTIVE, Product, ProductImage
from zhongcao.db import atomic
from zhongcao.errors import DomainError, InvalidInput
from zhongcao.importer.fields import Problem
from zhongcao.importer.loader import AccountSpec, ArticleSpec, CategorySpec, Content, ProductSpec
from zhongcao.importer.placeholder_images import placeholder_png
from zhongcao.importer.report import CREATED, UNCHANGED, UPDATED, ImportReport
from zhongcao.media.services import store_upload
from zhongcao.web import messages

class _Skip(Exception):
    """A file cannot be applied; its problems are already in the report."""


class Applier:
    """Applies one checked content set to the database, in dependency order."""

    def __init__(
        self,
        session: Session,
        content: Content,
        report: ImportReport,
        *,
        data_dir: Path,
        commission_bounds: tuple[int, int],
    ) -> None:
        self.session, self.content, self.report = session, content, report
        self.data_dir, self.commission_bounds = data_dir, commission_bounds
        # Files of this import that were checked but then refused while applying, by product slug.
        self.unapplied_products: dict[str, str] = {}

    def run(self) -> None:
        self.demo_password = self._checked_demo_password()
        for spec in self.content.categories:
            self._guarded(spec.file, self._apply_category, spec)
        for spec in self.content.accounts:
            self._guarded(spec.file, self._apply_account, spec)
        for spec in self.content.products:
            if not self._guarded(spec.file, self._apply_product, spec):
                self.unapplied_products[spec.slug] = spec.file
        if self.content.articles:
            self._apply_articles()

    def _guarded(self, file: str, apply, spec) -> bool:
        """Run one file's step; a domain refusal becomes a problem naming the file and field."""
        try:
            apply(spec)
        except _Skip:
            return False
        except DomainError as error:
            self.problem(file, getattr(error, "field", None), _describe(error))
            return False
        return True

    def problem(self, file: str, field: str | None, message: str) -> None:
        self.report.problems.append(Problem(file, field, message))

    def _checked_demo_password(self) -> str | None:
        password = self.content.demo_password
        if password is None:
            return None
        try:
            return passwords.check_password_rules(password, field="demo_password")
        except InvalidInput as error:
            self.problem("demo.yaml", "demo_password", _describe(error))
            return None

    def _apply_category(self, spec: CategorySpec) -> None:
        row = catalog.find_category_by_slug(self.session, spec.slug)
        if row is not None and (row.name_zh, row.name_en, row.position) == (spec.name_zh, spec.name_en, spec.position):
            self.report.count("categories", UNCHANGED)
            return
        catalog.upsert_category(
            self.session, slug=spec.slug, name_zh=spec.name_zh, name_en=spec.name_en, position=spec.position
        )
        self.report.count("categories", CREATED if row is None else UPDATED)

    def _apply_account(self, spec: AccountSpec) -> None:
        user = find_user_by_handle(self.session, spec.handle)
        self._check_account_conflicts(spec, user)
        roles = ("creator" in spec.roles, "merchant" in spec.roles, "admin" in spec.roles)
        profile_differs = user is None or (user.display_name, user.bio) != (spec.display_name, spec.bio)
        roles_differ = user is None or (user.is_creator, user.is_merchant, user.is_admin) != roles
        shop = catalog.find_shop_by_slug(self.session, spec.shop.slug) if spec.shop else None
        shop_differs = spec.shop is not None and (
            shop is None or (shop.name, shop.description) != (spec.shop.name, spec.shop.description)
        )
        if not (profile_differs or roles_differ or shop_differs):
            self.report.count("accounts", UNCHANGED)
            if spec.shop:
                self.report.count("shops", UNCHANGED)
            return
        created = user is None
        with atomic(self.session):
            if created:
                user = create_account(
                    self.session,
                    email=spec.email,
                    handle=spec.handle,
                    password_hash=_demo_password_hash(self.demo_password),
                    display_name=spec.display_name,
                    bio=spec.bio,
                    is_creator=roles[0],
                    is_merchant=roles[1],
                    is_admin=roles[2],
                )
                # Inside our transaction the domain's own commit is deferred, so the new row needs a flush for its id.
                self.session.flush()
            else:
                if profile_differs:
                    update_profile(self.session, user_id=user.id, display_name=spec.display_name, bio=spec.bio)
                if roles_differ:
                    set_roles(self.session, user_id=user.id, is_creator=roles[0], is_merchant=roles[1], is_admin=roles[2])
            if spec.shop and shop is None:
                catalog.create_shop(
                    self.session,
                    owner_id=user.id,
                    name=spec.shop.name,
                    slug=spec.shop.slug,
                    description=spec.shop.description,
                )
            elif shop_differs:
                catalog.update_shop(
                    self.session, shop_id=shop.id, actor_id=user.id, name=spec.shop.name, description=spec.shop.description
                )
        self.report.count("accounts", CREATED if created else (UPDATED if profile_differs or roles_differ else UNCHANGED))
        if spec.shop:
            self.report.count("shops", CREATED if shop is None else (UPDATED if shop_differs else UNCHANGED))

    def _check_account_conflicts(self, spec: AccountSpec, user: User | None) -> None:
        problems = []
        if user is None:
            other = find_user_by_email(self.session, spec.email)
            if other is not None:
                problems.append(("email", f"{spec.email} already belongs to @{other.handle}"))
            if self.demo_password is None:
                problems.append((None, "a new account needs demo_password in demo.yaml"))
        elif user.email != spec.email:
            problems.append(
                ("email", f"@{user.handle} exists with {user.email}; the importer never changes an account's email")
            )
        if spec.shop:
            shop = catalog.find_shop_by_slug(self.session, spec.shop.slug)
            if shop is not None and (user is None or shop.owner_id != user.id):
                problems.append(("shop", f"shop {spec.shop.slug!r} belongs to another account"))
            own = catalog.find_shop_of(self.session, user.id) if user is not None else None
            if own is not None and own.slug != spec.shop.slug:
                problems.append(("shop", f"@{user.handle} already has shop {own.slug!r}; a merchant has one shop"))
        for field, message in problems:
            self.problem(spec.file, field, message)
        if problems:
            raise _Skip()

    def _apply_product(self, spec: ProductSpec) -> None:
        shop, category = self._product_references(spec)
        desired = {
            "title": spec.title,
            "brand": spec.brand,
            "category_id": category.id,
            "price_fen": spec.price_fen,
            "list_price_fen": spec.list_price_fen,
            "stock": spec.stock,
            "commission_bp": spec.commission_bp,
            "description_md": spec.description_md,
            "status": spec.status,
        }
        product = catalog.find_product_by_slug(self.session, spec.slug)
        if product is not None and product.shop_id != shop.id:
            self.problem(spec.file, "shop", f"{spec.slug!r} already belongs to another shop; the importer never moves products")
            raise _Skip()
        changed = {name: value for name, value in desired.items() if product is None or getattr(product, name) != value}
        has_image = product is not None and self._has_image(product.id)
        if product is not None and not changed and has_image:
            self.report.count("products", UNCHANGED)
            return
        with atomic(self.session):
            if product is None:
                product = catalog.create_product(
                    self.session,
                    actor_id=shop.owner_id,
                    shop_id=shop.id,
                    slug=spec.slug,
                    commission_bounds=self.commission_bounds,
                    **desired,
                )
                self.session.flush()
                outcome = CREATED
            elif changed:
                catalog.update_product(
                    self.session,
                    actor_id=shop.owner_id,
                    product_id=product.id,
                    commission_bounds=self.commission_bounds,
                    **changed,
                )
                outcome = UPDATED
            else:
                outcome = UNCHANGED
            if not has_image:
                self._add_placeholder_image(product, spec, owner_id=shop.owner_id)
        self.report.count("products", outcome)

    def _product_references(self, spec: ProductSpec):
        problems = []
        shop = catalog.find_shop_by_slug(self.session, spec.shop)
        if shop is None:
            problems.append(("shop", f"no shop {spec.shop!r} in accounts/ or the database"))
        category = catalog.find_category_by_slug(self.session, spec.category)
        if category is None:
            skipped = self.content.failed_categories.get(spec.category)
            reason = f"it was skipped ({skipped})" if skipped else "not in categories.yaml or the database"
            problems.append(("category", f"unknown category {spec.category!r}: {reason}"))
        low, high = self.commission_bounds
        if not low <= spec.commission_bp <= high:
            problems.append(
                ("commission_bp", f"must be within the platform bounds {low}..{high} basis points (got {spec.commission_bp})")
            )
        for field, message in problems:
            self.problem(spec.file, field, message)
        if problems:
            raise _Skip()
        return shop, category

    def _has_image(self, product_id: int) -> bool:
        return self.session.exec(select(ProductImage.id).where(ProductImage.product_id == product_id).limit(1)).first() is not None

    def _add_placeholder_image(self, product: Product, spec: ProductSpec, *, owner_id: int) -> None:
        upload = store_upload(
            self.session,
            io.BytesIO(placeholder_png(spec.slug, spec.image_color)),
            data_dir=self.data_dir,
            owner_id=owner_id,
            purpose="product",
        )
        self.session.flush()
        catalog.add_product_image(self.session, product_id=product.id, actor_id=owner_id, upload_id=upload.id, alt=spec.title)
        self.report.images_generated += 1

    def _apply_articles(self) -> None:
        if any(spec.views is not None for spec in self.content.articles):
            self.report.notes.append("views: not imported (the articles service only counts real views)")
        for spec in self.content.articles:
            try:
                self._apply_article(spec)
            except _Skip:
                pass
            except articles.ArticleNotPublishable as error:
                # The article pipeline counts lines from the start of the body, not of the file.
                reasons = "; ".join(error.problems) or _describe(error)
                self.problem(spec.file, "published_at", f"cannot be published (lines counted from the body): {reasons}")
            except DomainError as error:
                self.problem(spec.file, getattr(error, "field", None), _describe(error))

    def _apply_article(self, spec: ArticleSpec) -> None:
        author = self._article_author(spec)
        self._check_article_products(spec)
        article = self.session.exec(select(Article).where(Article.author_id == author.id, Article.slug == spec.slug)).first()
        text_differs = article is None or self._article_text_differs(article, spec)
        publish = spec.published_at is not None and (article is None or article.status != PUBLISHED)
        unpublish = spec.published_at is None and article is not None and article.status == PUBLISHED
        if not (text_differs or publish or unpublish):
            self.report.count("articles", UNCHANGED)
            return
        created = article is None
        with atomic(self.session):
            if text_differs:
                article = articles.save_article(
                    self.session,
                    author_id=author.id,
                    title=spec.title,
                    body_md=spec.body_md,
                    kind=spec.kind,
                    summary=spec.summary,
                    tags=list(spec.tags),
                    slug=spec.slug,
                    cover_id=article.cover_id if article is not None else None,
                    lang=spec.lang,
                    article_id=article.id if article is not None else None,
                    # A new demo article was written when it was published, not when it was imported.
                    now=spec.published_at if article is None else None,
                )
                self.session.flush()
            if publish:
                article = articles.publish_article(
                    self.session, article_id=article.id, author_id=author.id, now=spec.published_at
                )
            if unpublish:
                article = articles.unpublish_article(self.session, article_id=article.id, author_id=author.id)
        self.report.count("articles", CREATED if created else UPDATED)
        if publish:
            self.report.articles_published += 1

    def _article_author(self, spec: ArticleSpec) -> User:
        author = find_user_by_handle(self.session, spec.author)
        if author is None:
            skipped = self.content.failed_accounts.get(spec.author.lower())
            reason = f"it was skipped ({skipped})" if skipped else "no such account in accounts/ or the database"
            self.problem(spec.file, "author", f"unknown author {spec.author!r} (the folder name): {reason}")
            raise _Skip()
        if not author.is_creator:
            self.problem(spec.file, "author", f"@{author.handle} is not a creator (add creator to their roles)")
            raise _Skip()
        return author

    def _check_article_products(self, spec: ArticleSpec) -> None:
        """Every product a block names must exist; a published article's must also be on sale."""
        slugs = {reference.slug for reference in spec.products}
        rows = self.session.exec(select(Product.slug, Product.status).where(Product.slug.in_(slugs))).all() if slugs else []
        status = dict(rows)
        skipped_files = {**self.content.failed_products, **self.unapplied_products}
        problems = []
        for reference in spec.products:
            where = f"line {reference.line}: names product {reference.slug!r}"
            if reference.slug in skipped_files:
                problems.append(("body", f"{where}, which was skipped ({skipped_files[reference.slug]})"))
            elif reference.slug not in status:
                problems.append(("body", f"line {reference.line}: names unknown product {reference.slug!r}"))
            elif spec.published_at is not None and status[reference.slug] != PRODUCT_ACTIVE:
                problems.append(("published_at", f"cannot be published: {where}, which is {status[reference.slug]}"))
        for field, message in problems:
            self.problem(spec.file, field, message)
        if problems:
            raise _Skip()

    def _article_text_differs(self, article: Article, spec: ArticleSpec) -> bool:
        # Compared as save_article would store them, so an unchanged file never makes a new revision.
        wanted = (" ".join(spec.title.split()), spec.body_md, spec.kind, spec.summary, spec.lang)
        if (article.title, article.body_md, article.kind, article.summary, article.lang) != wanted:
            return True
        tags = set(self.session.exec(select(ArticleTag.tag).where(ArticleTag.article_id == article.id)).all())
        return tags != set(articles.normalise_tags(spec.tags))


@lru_cache(maxsize=4)
def _demo_password_hash(password: str) -> str:
    # Every new demo account shares the one published demo password: argon2 runs once per process,
    # not once per account (existing accounts are never given it again).
    return passwords.hash_password(password)


def _describe(error: DomainError) -> str:
    # The report is read by people running the command, in the same words the site shows them.
    return messages.describe(error)
