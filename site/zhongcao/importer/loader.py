"""Read a content folder into plain dataclasses, checking every file's shape; nothing here touches the database.

A file with any problem is left out whole and its problems are collected; references between files
(shop, category, author, products named in blocks) are checked later, against the database too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from zhongcao.accounts.services import check_handle, normalise_email
from zhongcao.articles.markdown import check_blocks
from zhongcao.articles.models import KINDS
from zhongcao.articles.services import MAX_TAG_LENGTH, MAX_TAGS
from zhongcao.catalog.models import PRODUCT_ACTIVE, PRODUCT_HIDDEN
from zhongcao.errors import InvalidInput
from zhongcao.importer.fields import FieldReader, Problem

ROLES = ("creator", "merchant", "admin")
LANGS = ("zh-CN", "en", "zh-TW")
# save_article keeps four characters of its 80 for a "-2" suffix, so a longer slug would not round-trip.
MAX_ARTICLE_SLUG = 76
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
# Demo content is written for readers in China: a date or a time without an offset is Beijing time,
# and a bare date means noon there, which is the same calendar day in UTC.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
NOON = time(12, 0)


@dataclass(frozen=True)
class CategorySpec:
    file: str
    slug: str
    name_zh: str
    name_en: str
    position: int


@dataclass(frozen=True)
class ShopSpec:
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class AccountSpec:
    file: str
    handle: str
    email: str
    display_name: str
    bio: str
    roles: frozenset[str]
    shop: ShopSpec | None


@dataclass(frozen=True)
class ProductSpec:
    file: str
    slug: str
    shop: str
    title: str
    brand: str
    category: str
    price_fen: int
    list_price_fen: int | None
    stock: int
    commission_bp: int
    status: str
    image_color: str | None
    description_md: str


@dataclass(frozen=True)
class BlockReference:
    """A product named in an article's block, with the file line it is on (for the problem message)."""

    slug: str
    line: int


@dataclass(frozen=True)
class ArticleSpec:
    file: str
    author: str
    slug: str
    title: str
    kind: str
    summary: str
    tags: tuple[str, ...]
    lang: str
    published_at: datetime | None
    views: int | None
    body_md: str
    products: tuple[BlockReference, ...]


@dataclass
class Content:
    """Everything that passed the file checks, the demo password, and the problems of what did not."""

    categories: list[CategorySpec] = field(default_factory=list)
    accounts: list[AccountSpec] = field(default_factory=list)
    products: list[ProductSpec] = field(default_factory=list)
    articles: list[ArticleSpec] = field(default_factory=list)
    demo_password: str | None = None
    problems: list[Problem] = field(default_factory=list)
    # Slugs and handles of files that were left out, so that files naming them can say why.
    failed_products: dict[str, str] = field(default_factory=dict)
    failed_accounts: dict[str, str] = field(default_factory=dict)
    failed_categories: dict[str, str] = field(default_factory=dict)


def load_content(root: Path) -> Content:
    """Parse and shape-check every file under the content folder `root`."""
    content = Content()
    content.demo_password = _load_demo_password(root, content)
    content.categories = _load_categories(root, content)
    content.accounts = _load_all(root, "accounts/*.md", content, _account_from)
    content.products = _load_all(root, "products/*.md", content, _product_from)
    content.articles = _load_all(root, "articles/*/*.md", content, _article_from)
    _drop_duplicates(content)
    return content


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _read_yaml(root: Path, name: str, content: Content) -> Any:
    path = root / name
    if not path.exists():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        content.problems.append(Problem(name, None, f"cannot be read as YAML: {_one_line(error)}"))
        return None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _load_demo_password(root: Path, content: Content) -> str | None:
    data = _read_yaml(root, "demo.yaml", content)
    if data is None:
        return None
    if not isinstance(data, dict):
        content.problems.append(Problem("demo.yaml", None, "must be a mapping with demo_password"))
        return None
    fields = FieldReader("demo.yaml", data, content.problems)
    password = fields.text("demo_password", max_length=128)
    return None if fields.failed else password


def _load_categories(root: Path, content: Content) -> list[CategorySpec]:
    data = _read_yaml(root, "categories.yaml", content)
    if data is None:
        return []
    if not isinstance(data, list):
        content.problems.append(Problem("categories.yaml", None, "must be a list of {slug, name_zh, name_en}"))
        return []
    categories = []
    for position, item in enumerate(data):
        label = f"categories.yaml[{position}]"
        if not isinstance(item, dict):
            content.problems.append(Problem(label, None, f"must be a mapping (got {item!r})"))
            continue
        fields = FieldReader(label, item, content.problems)
        fields.check_known({"slug", "name_zh", "name_en"})
        spec = CategorySpec(
            file="categories.yaml",
            slug=fields.slug("slug"),
            name_zh=fields.text("name_zh", max_length=40),
            name_en=fields.text("name_en", max_length=60),
            position=position,
        )
        if fields.failed:
            if isinstance(item.get("slug"), str):
                content.failed_categories[item["slug"]] = label
            continue
        categories.append(spec)
    return categories


def _load_all(root: Path, pattern: str, content: Content, build) -> list:
    specs = []
    for path in sorted(root.glob(pattern)):
        file = _relative(root, path)
        problems_before = len(content.problems)
        spec = _load_markdown(root, path, file, content, build)
        if spec is not None and len(content.problems) == problems_before:
            specs.append(spec)
        else:
            _remember_failure(file, path, content)
    return specs


def _remember_failure(file: str, path: Path, content: Content) -> None:
    if file.startswith("products/"):
        content.failed_products[path.stem] = file
    elif file.startswith("accounts/"):
        content.failed_accounts[path.stem.lower()] = file


def _load_markdown(root: Path, path: Path, file: str, content: Content, build):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        content.problems.append(Problem(file, None, "is not UTF-8 text"))
        return None
    try:
        metadata, body = frontmatter.parse(text)
    except yaml.YAMLError as error:
        content.problems.append(Problem(file, None, f"front matter cannot be read as YAML: {_one_line(error)}"))
        return None
    if not metadata or not isinstance(metadata, dict):
        content.problems.append(Problem(file, None, "needs YAML front matter between --- lines"))
        return None
    # The body starts after the front matter; block problems name lines of the whole file.
    body_start = text[: text.find(body)].count("\n") if body else 0
    fields = FieldReader(file, metadata, content.problems)
    spec = build(fields, path, body, body_start)
    return None if fields.failed else spec


def _account_from(fields: FieldReader, path: Path, body: str, _body_start: int) -> AccountSpec | None:
    fields.check_known({"handle", "email", "display_name", "roles", "shop"})
    handle = fields.text("handle", max_length=30)
    if handle:
        try:
            handle = check_handle(handle)
        except InvalidInput as error:
            fields.problem("handle", _invalid_handle_text(error.code, handle))
        else:
            if handle.lower() != path.stem.lower():
                fields.problem("handle", f"must match the file name ({path.stem!r}, got {handle!r})")
    email = fields.text("email", max_length=254)
    if email:
        try:
            email = normalise_email(email)
        except InvalidInput:
            fields.problem("email", f"is not a valid email address (got {email!r})")
    display_name = fields.text("display_name", max_length=60)
    roles = fields.data.get("roles", [])
    if roles is None:
        roles = []
    if not isinstance(roles, list) or any(role not in ROLES for role in roles):
        fields.problem("roles", f"must be a list of {', '.join(ROLES)} (empty for a reader; got {roles!r})")
        roles = []
    if len(body) > 1000:
        fields.problem("bio", f"the body (bio) must be at most 1000 characters (got {len(body)})")
    shop = _shop_from(fields, "merchant" in roles)
    return AccountSpec(
        file=fields.file,
        handle=handle,
        email=email,
        display_name=display_name,
        bio=body,
        roles=frozenset(roles),
        shop=shop,
    )


def _invalid_handle_text(code: str, handle: str) -> str:
    if code == "handle_reserved":
        return f"{handle!r} is a reserved handle"
    return f"must be 3-30 ASCII letters, digits or underscores, starting with a letter (got {handle!r})"


def _shop_from(fields: FieldReader, is_merchant: bool) -> ShopSpec | None:
    data = fields.data.get("shop")
    if data is None:
        if is_merchant:
            fields.problem("shop", "a merchant needs shop: {slug, name, description}")
        return None
    if not is_merchant:
        fields.problem("shop", "only an account with the merchant role can have a shop")
        return None
    if not isinstance(data, dict):
        fields.problem("shop", f"must be a mapping {{slug, name, description}} (got {data!r})")
        return None
    shop_fields = FieldReader(fields.file, data, fields.problems)
    shop_fields.check_known({"slug", "name", "description"})
    shop = ShopSpec(
        slug=shop_fields.slug("slug"),
        name=shop_fields.text("name", max_length=80),
        description=shop_fields.text("description", max_length=2000, required=False),
    )
    if shop_fields.failed:
        fields.failed = True
    return shop


def _product_from(fields: FieldReader, path: Path, body: str, _body_start: int) -> ProductSpec | None:
    fields.check_known(
        {"slug", "shop", "title", "brand", "category", "price_fen", "list_price_fen", "stock", "commission_bp",
         "status", "image_color"}
    )
    slug = fields.slug("slug")
    if slug and slug != path.stem:
        fields.problem("slug", f"must match the file name ({path.stem!r}, got {slug!r})")
    price_fen = fields.whole("price_fen", unit="fen")
    list_price_fen = fields.whole("list_price_fen", unit="fen", required=False)
    if price_fen is not None and list_price_fen is not None and list_price_fen < price_fen:
        fields.problem("list_price_fen", f"must not be below price_fen ({list_price_fen} < {price_fen})")
    image_color = fields.data.get("image_color")
    if image_color is not None and not (isinstance(image_color, str) and COLOUR_PATTERN.match(image_color)):
        fields.problem("image_color", f"must be a colour like \"#a1b2c3\" (got {image_color!r})")
        image_color = None
    spec = ProductSpec(
        file=fields.file,
        slug=slug,
        shop=fields.slug("shop"),
        title=fields.text("title", max_length=120),
        brand=fields.text("brand", max_length=60, required=False),
        category=fields.slug("category"),
        price_fen=price_fen or 0,
        list_price_fen=list_price_fen,
        stock=fields.whole("stock", unit="items") or 0,
        # The platform's commission bounds are checked against the settings when the product is applied.
        commission_bp=fields.whole("commission_bp", unit="basis points", minimum=None) or 0,
        status=fields.choice("status", (PRODUCT_ACTIVE, PRODUCT_HIDDEN), default=PRODUCT_ACTIVE),
        image_color=image_color,
        description_md=body,
    )
    return spec


def _article_from(fields: FieldReader, path: Path, body: str, body_start: int) -> ArticleSpec | None:
    fields.check_known({"title", "slug", "kind", "summary", "tags", "lang", "published_at", "views"})
    slug = fields.slug("slug", max_length=MAX_ARTICLE_SLUG)
    if slug and slug != path.stem:
        fields.problem("slug", f"must match the file name ({path.stem!r}, got {slug!r})")
    if not body.strip():
        fields.problem("body", "the article has no text")
    # The article pipeline's own block check, so the importer refuses exactly what publishing would.
    # Blank lines in place of the front matter make its line numbers those of the whole file.
    parsed = check_blocks("\n" * body_start + body)
    for message in parsed.problems:
        fields.problem("body", message)
    references = [(item.slug, item.line) for block in parsed.blocks for item in block.items]
    return ArticleSpec(
        file=fields.file,
        author=path.parent.name,
        slug=slug,
        title=fields.text("title", max_length=120),
        kind=fields.choice("kind", KINDS),
        summary=fields.text("summary", max_length=300, required=False),
        tags=fields.text_list("tags", max_items=MAX_TAGS, max_length=MAX_TAG_LENGTH),
        lang=fields.choice("lang", LANGS, default="zh-CN"),
        published_at=_published_at(fields),
        views=fields.whole("views", unit="views", required=False),
        body_md=body,
        products=tuple(BlockReference(slug, line) for slug, line in references),
    )


def _published_at(fields: FieldReader) -> datetime | None:
    value = fields.data.get("published_at")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip()) if len(value.strip()) > 10 else date.fromisoformat(value.strip())
        except ValueError:
            fields.problem("published_at", f"must be an ISO date or date-time like 2026-10-12 (got {value!r})")
            return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=CHINA)
    elif isinstance(value, date):
        moment = datetime.combine(value, NOON, tzinfo=CHINA)
    else:
        fields.problem("published_at", f"must be an ISO date or date-time like 2026-10-12 (got {value!r})")
        return None
    return moment.astimezone(timezone.utc)


def _drop_duplicates(content: Content) -> None:
    content.categories = _first_of_each(content.categories, lambda spec: spec.slug, "slug", content)
    content.accounts = _first_of_each(content.accounts, lambda spec: spec.handle.lower(), "handle", content)
    content.accounts = _first_of_each(content.accounts, lambda spec: spec.email, "email", content)
    content.accounts = _first_of_each(
        content.accounts, lambda spec: spec.shop.slug if spec.shop else None, "shop", content
    )
    content.products = _first_of_each(content.products, lambda spec: spec.slug, "slug", content)


def _first_of_each(specs: list, key, name: str, content: Content) -> list:
    seen: dict[str, str] = {}
    kept = []
    for spec in specs:
        value = key(spec)
        if value is not None and value in seen:
            content.problems.append(Problem(spec.file, name, f"{value!r} is already used by {seen[value]}"))
            continue
        if value is not None:
            seen[value] = spec.file
        kept.append(spec)
    return kept
