"""What creators and merchants read about their money: the creator dashboard and the merchant's sales.

Every figure is aggregated in SQL with a fixed number of queries, whatever the number of orders.
Sales are counted on paid orders only, net of refunds; commission comes from the ledger, so these
pages always agree with `ledger-check` and the payouts.
"""
from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import distinct, func
from sqlmodel import Session, select

from zhongcao.accounts.models import User
from zhongcao.articles.models import PUBLISHED, Article
from zhongcao.attribution.models import ArticleDailyViews, ShareClick, ShareLink
from zhongcao.catalog.models import Product
from zhongcao.clock import utcnow
from zhongcao.commerce.models import SOURCE_ARTICLE, SOURCE_SHARE, SOURCE_STOREFRONT, Order, OrderLine
from zhongcao.ledger import ledger
from zhongcao.ledger.models import (
    COMMISSION_CONFIRMED,
    COMMISSION_PAID,
    COMMISSION_PENDING,
    MERCHANT_PAYABLE,
    PLATFORM_FEE,
    LedgerEntry,
)

# Creators and buyers live in China: days and months on these pages are China Standard Time.
CHINA_TIME = timezone(timedelta(hours=8), "CST")
CHART_DAYS = 30


def local_today(now: datetime) -> date:
    """The China-time calendar day of an instant."""
    return now.astimezone(CHINA_TIME).date()


def local_start(day: date) -> datetime:
    """The UTC instant a China-time day begins."""
    return datetime.combine(day, time(0), tzinfo=CHINA_TIME).astimezone(timezone.utc)


def local_period(session: Session, column, unit: str):
    """SQL for a UTC timestamp column as a China-time "YYYY-MM-DD" (unit "day") or "YYYY-MM" (unit "month")."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD" if unit == "day" else "YYYY-MM")
    return func.strftime("%Y-%m-%d" if unit == "day" else "%Y-%m", column, "+8 hours")


def conversion_bp(orders: int, visits: int | None) -> int | None:
    """Orders per visit in basis points, integers only (None when there were no visits)."""
    if not visits:
        return None
    return orders * 10_000 // visits


@dataclass
class EarningsRow:
    """One thing that led to sales: an article, a share link, or the storefront."""

    source: str  # article / share / storefront
    ref: int | None
    title: str
    path: str | None = None
    views: int | None = None  # article views (all time); None where views do not apply
    recent_views: int | None = None  # article views in the chart window
    clicks: int | None = None  # counted share-link clicks; None where clicks do not apply
    orders: int = 0
    sales_fen: int = 0  # paid minus refunded
    refunded_fen: int = 0
    pending_fen: int = 0
    confirmed_fen: int = 0  # confirmed and not yet paid out
    paid_fen: int = 0
    first_confirmed_at: datetime | None = None

    @property
    def conversion_bp(self) -> int | None:
        return conversion_bp(self.orders, self.clicks if self.source == SOURCE_SHARE else self.views)


@dataclass(frozen=True)
class ChartDay:
    day: date
    orders: int
    sales_fen: int
    commission_fen: int


@dataclass
class Dashboard:
    creator_id: int
    rows: list[EarningsRow]
    days: list[ChartDay]
    pending_fen: int
    confirmed_fen: int  # the balance available for a payout (may be negative after late refunds)
    paid_fen: int
    totals: EarningsRow = field(default_factory=lambda: EarningsRow(source="total", ref=None, title=""))


def creator_dashboard(session: Session, *, creator_id: int, now: datetime | None = None) -> Dashboard:
    """Everything on a creator's /dashboard: per-source rows, balances and the 30-day chart."""
    now = now or utcnow()
    today = local_today(now)
    window_start_day = today - timedelta(days=CHART_DAYS - 1)
    handle = session.exec(select(User.handle).where(User.id == creator_id)).one()
    rows: dict[tuple[str, int | None], EarningsRow] = {}

    articles = session.exec(
        select(Article.id, Article.title, Article.slug, Article.view_count)
        .where(Article.author_id == creator_id, Article.status == PUBLISHED)
        .order_by(Article.published_at.desc(), Article.id.desc())
    ).all()
    recent = dict(
        session.exec(
            select(ArticleDailyViews.article_id, func.sum(ArticleDailyViews.views))
            .join(Article, Article.id == ArticleDailyViews.article_id)
            .where(Article.author_id == creator_id, ArticleDailyViews.day >= window_start_day)
            .group_by(ArticleDailyViews.article_id)
        ).all()
    )
    for article_id, title, slug, views in articles:
        rows[(SOURCE_ARTICLE, article_id)] = EarningsRow(
            SOURCE_ARTICLE, article_id, title, f"/@{handle}/{slug}", views=views or 0, recent_views=int(recent.get(article_id) or 0)
        )

    _add_share_rows(session, rows, creator_id=creator_id)
    rows[(SOURCE_STOREFRONT, creator_id)] = EarningsRow(SOURCE_STOREFRONT, creator_id, "我的小店 My storefront", f"/@{handle}")

    for source, ref, orders, sales, refunded in session.exec(
        select(
            OrderLine.attribution_source,
            OrderLine.attribution_ref,
            func.count(distinct(OrderLine.order_id)),
            func.sum(OrderLine.line_total_fen),
            func.sum(OrderLine.refunded_fen),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.beneficiary_id == creator_id, Order.paid_at.is_not(None))
        .group_by(OrderLine.attribution_source, OrderLine.attribution_ref)
    ).all():
        row = _row_for(rows, source, ref)
        row.orders += int(orders)
        row.sales_fen += int(sales or 0) - int(refunded or 0)
        row.refunded_fen += int(refunded or 0)

    for source, ref, account, amount, first_at in session.exec(
        select(
            OrderLine.attribution_source,
            OrderLine.attribution_ref,
            LedgerEntry.account,
            func.sum(LedgerEntry.amount_fen),
            func.min(LedgerEntry.created_at),
        )
        .join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
        .where(LedgerEntry.owner_id == creator_id, LedgerEntry.account.in_((COMMISSION_PENDING, COMMISSION_CONFIRMED)))
        .group_by(OrderLine.attribution_source, OrderLine.attribution_ref, LedgerEntry.account)
    ).all():
        row = _row_for(rows, source, ref)
        if account == COMMISSION_PENDING:
            row.pending_fen += int(amount or 0)
        else:
            row.confirmed_fen += int(amount or 0)
            row.first_confirmed_at = first_at

    balances = _balances(session, creator_id)
    _allocate_paid(list(rows.values()), balances[COMMISSION_PAID])
    dashboard = Dashboard(
        creator_id=creator_id,
        # The storefront row shows only once something sold through it; articles and links always show.
        rows=[row for row in rows.values() if row.source != SOURCE_STOREFRONT or row.orders or row.pending_fen or row.paid_fen
              or row.confirmed_fen],
        days=_chart_days(session, creator_id=creator_id, first_day=window_start_day, today=today),
        pending_fen=balances[COMMISSION_PENDING],
        confirmed_fen=balances[COMMISSION_CONFIRMED],
        paid_fen=balances[COMMISSION_PAID],
    )
    for row in dashboard.rows:
        for name in ("orders", "sales_fen", "refunded_fen", "pending_fen", "confirmed_fen", "paid_fen"):
            setattr(dashboard.totals, name, getattr(dashboard.totals, name) + getattr(row, name))
    return dashboard


def _add_share_rows(session: Session, rows: dict, *, creator_id: int) -> None:
    links = session.exec(
        select(ShareLink.id, ShareLink.code, ShareLink.target_kind, ShareLink.target_id, func.count(ShareClick.id))
        .outerjoin(ShareClick, ShareClick.link_id == ShareLink.id)
        .where(ShareLink.sharer_id == creator_id)
        .group_by(ShareLink.id, ShareLink.code, ShareLink.target_kind, ShareLink.target_id)
        .order_by(ShareLink.id.desc())
    ).all()
    article_ids = [target_id for _, _, kind, target_id, _ in links if kind == "article"]
    product_ids = [target_id for _, _, kind, target_id, _ in links if kind == "product"]
    titles: dict[tuple[str, int], str] = {}
    if article_ids:
        titles.update({("article", i): t for i, t in session.exec(select(Article.id, Article.title).where(Article.id.in_(article_ids))).all()})
    if product_ids:
        titles.update({("product", i): t for i, t in session.exec(select(Product.id, Product.title).where(Product.id.in_(product_ids))).all()})
    for link_id, code, kind, target_id, clicks in links:
        label = "笔记 Article" if kind == "article" else "商品 Product"
        title = f"{label}：{titles.get((kind, target_id), f'#{target_id}')}"
        rows[(SOURCE_SHARE, link_id)] = EarningsRow(SOURCE_SHARE, link_id, title, f"/s/{code}", clicks=int(clicks))


def _row_for(rows: dict, source: str | None, ref: int | None) -> EarningsRow:
    key = (source or "other", ref)
    if key not in rows:
        # Sales through an article since unpublished, or a link that no longer exists, still count.
        label = {SOURCE_ARTICLE: "笔记 Article", SOURCE_SHARE: "分享链接 Share link", SOURCE_STOREFRONT: "小店 Storefront"}.get(
            source or "", "其他 Other"
        )
        rows[key] = EarningsRow(source or "other", ref, f"{label} #{ref}" if ref is not None else label)
    return rows[key]


def _balances(session: Session, owner_id: int) -> defaultdict[str, int]:
    balances: defaultdict[str, int] = defaultdict(int)
    for account, amount in session.exec(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.owner_id == owner_id, LedgerEntry.account.in_((COMMISSION_PENDING, COMMISSION_CONFIRMED, COMMISSION_PAID)))
        .group_by(LedgerEntry.account)
    ).all():
        balances[account] = int(amount or 0)
    return balances


def _allocate_paid(rows: list[EarningsRow], paid_total: int) -> None:
    """Payouts pay a balance, not lines: attribute the paid total to the oldest confirmed commission
    first (FIFO), so each row shows pending / confirmed-unpaid / paid that add up to its earnings."""
    remaining = paid_total
    for row in sorted((r for r in rows if r.confirmed_fen > 0), key=lambda r: (r.first_confirmed_at, r.source, r.ref or 0)):
        taken = min(row.confirmed_fen, max(remaining, 0))
        row.paid_fen, row.confirmed_fen = taken, row.confirmed_fen - taken
        remaining -= taken


def _chart_days(session: Session, *, creator_id: int, first_day: date, today: date) -> list[ChartDay]:
    since = local_start(first_day)
    day_of_order = local_period(session, Order.paid_at, "day")
    sales = {
        day: (int(orders), int(total or 0))
        for day, orders, total in session.exec(
            select(day_of_order, func.count(distinct(OrderLine.order_id)), func.sum(OrderLine.line_total_fen))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.beneficiary_id == creator_id, Order.paid_at >= since)
            .group_by(day_of_order)
        ).all()
    }
    day_of_entry = local_period(session, LedgerEntry.created_at, "day")
    commission = dict(
        session.exec(
            select(day_of_entry, func.sum(LedgerEntry.amount_fen))
            .where(
                LedgerEntry.owner_id == creator_id,
                LedgerEntry.account == COMMISSION_PENDING,
                LedgerEntry.kind == ledger.KIND_PAYMENT,
                LedgerEntry.created_at >= since,
            )
            .group_by(day_of_entry)
        ).all()
    )
    days = []
    for offset in range((today - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        orders, total = sales.get(day.isoformat(), (0, 0))
        days.append(ChartDay(day, orders, total, int(commission.get(day.isoformat()) or 0)))
    return days


def yuan_text(fen: int) -> str:
    """Integer fen as plain yuan for files, computed with integers: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


def percent_text(bp: int | None) -> str:
    """Basis points as a percentage with two decimals, integers only: 1250 -> "12.50%"; None -> ""."""
    if bp is None:
        return ""
    whole, rest = divmod(bp, 100)
    return f"{whole}.{rest:02d}%"


_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?%?$")


def csv_cell(value: object) -> str:
    # Titles are creators' text: a leading = + - @ would run as a formula in a spreadsheet.
    # Plain numbers (a negative balance "-40.00") are left as they are.
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def write_csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def dashboard_csv(dashboard: Dashboard) -> str:
    """The dashboard's rows as CSV: money in yuan ("123.45"), conversion as a percentage."""
    return write_csv(
        ["source", "title", "path", "views", "clicks", "orders", "conversion", "sales_yuan", "refunded_yuan",
         "pending_yuan", "confirmed_yuan", "paid_yuan"],
        [
            [row.source, row.title, row.path or "", "" if row.views is None else row.views, "" if row.clicks is None else row.clicks,
             row.orders, percent_text(row.conversion_bp), yuan_text(row.sales_fen), yuan_text(row.refunded_fen),
             yuan_text(row.pending_fen), yuan_text(row.confirmed_fen), yuan_text(row.paid_fen)]
            for row in dashboard.rows
        ],
    )


@dataclass
class ProductSales:
    product_id: int
    title: str
    orders: int = 0
    units: int = 0  # sold minus returned
    sales_fen: int = 0  # paid (before refunds)
    refunded_fen: int = 0
    commission_fen: int = 0  # owed to creators (pending + confirmed)
    fee_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.sales_fen - self.refunded_fen


@dataclass
class CreatorSales:
    creator_id: int
    handle: str
    display_name: str
    orders: int = 0
    sales_fen: int = 0  # net of refunds
    commission_fen: int = 0


@dataclass
class ShopSales:
    shop_id: int
    products: list[ProductSales]
    creators: list[CreatorSales]
    sales_fen: int
    refunded_fen: int
    commission_fen: int
    fee_fen: int
    payable_fen: int  # what the platform owes the shop: the MERCHANT_PAYABLE balance


def shop_sales(session: Session, *, shop_id: int) -> ShopSales:
    """A shop's sales by product and by the creators who drove them, with commission owed and refunds."""
    products: dict[int, ProductSales] = {}
    for product_id, title, orders, units, returned, sales, refunded in session.exec(
        select(
            OrderLine.product_id,
            Product.title,
            func.count(distinct(OrderLine.order_id)),
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.refunded_quantity),
            func.sum(OrderLine.line_total_fen),
            func.sum(OrderLine.refunded_fen),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.shop_id == shop_id, Order.paid_at.is_not(None))
        .group_by(OrderLine.product_id, Product.title)
    ).all():
        products[product_id] = ProductSales(
            product_id, title, int(orders), int(units or 0) - int(returned or 0), int(sales or 0), int(refunded or 0)
        )
    for product_id, account, amount in session.exec(
        select(OrderLine.product_id, LedgerEntry.account, func.sum(LedgerEntry.amount_fen))
        .join(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.shop_id == shop_id, LedgerEntry.account.in_(ledger.COMMISSION_ACCOUNTS + (PLATFORM_FEE,)))
        .group_by(OrderLine.product_id, LedgerEntry.account)
    ).all():
        if product_id not in products:
            continue
        if account == PLATFORM_FEE:
            products[product_id].fee_fen += int(amount or 0)
        else:
            products[product_id].commission_fen += int(amount or 0)

    creators: dict[int, CreatorSales] = {}
    for creator_id, handle, name, orders, sales, refunded in session.exec(
        select(
            OrderLine.beneficiary_id,
            User.handle,
            User.display_name,
            func.count(distinct(OrderLine.order_id)),
            func.sum(OrderLine.line_total_fen),
            func.sum(OrderLine.refunded_fen),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(User, User.id == OrderLine.beneficiary_id)
        .where(Order.shop_id == shop_id, Order.paid_at.is_not(None))
        .group_by(OrderLine.beneficiary_id, User.handle, User.display_name)
    ).all():
        creators[creator_id] = CreatorSales(creator_id, handle, name, int(orders), int(sales or 0) - int(refunded or 0))
    for owner_id, amount in session.exec(
        select(LedgerEntry.owner_id, func.sum(LedgerEntry.amount_fen))
        .join(Order, Order.id == LedgerEntry.order_id)
        .where(Order.shop_id == shop_id, LedgerEntry.account.in_(ledger.COMMISSION_ACCOUNTS))
        .group_by(LedgerEntry.owner_id)
    ).all():
        if owner_id in creators:
            creators[owner_id].commission_fen += int(amount or 0)

    product_list = sorted(products.values(), key=lambda p: (-p.net_fen, p.product_id))
    return ShopSales(
        shop_id=shop_id,
        products=product_list,
        creators=sorted(creators.values(), key=lambda c: (-c.sales_fen, c.creator_id)),
        sales_fen=sum(p.sales_fen for p in product_list),
        refunded_fen=sum(p.refunded_fen for p in product_list),
        commission_fen=sum(p.commission_fen for p in product_list),
        fee_fen=sum(p.fee_fen for p in product_list),
        payable_fen=ledger.balance(session, account=MERCHANT_PAYABLE, owner_id=shop_id),
    )
