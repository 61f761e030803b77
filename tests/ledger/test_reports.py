import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from zhongcao.attribution.models import ArticleDailyViews, ShareClick, ShareLink
from zhongcao.commerce.models import OrderLine
from zhongcao.ledger import payouts, reports

from tests.ledger.factories import T0
from tests.social.factories import add_article

NOW = T0 + timedelta(days=12)  # 2026-11-13 04:00 UTC = 12:00 in China
CONFIRMED_AT = T0 + timedelta(days=10)


@pytest.fixture
def scenario(session, make_user, make_product, earn, refund_line):
    """An article with 200 views and two orders (one confirmed, then partly refunded… and paid out), a share
    link with 4 counted clicks and one order, and another creator's sale that must not show."""
    creator = make_user(is_creator=True, handle="kol")
    article = add_article(session, creator, title="羽绒服测评", slug="down-review", view_count=200)
    session.add(ArticleDailyViews(article_id=article.id, day=date(2026, 11, 10), views=30))
    product = make_product(title="保温杯", price_fen=3333, commission_bp=1250)
    link = ShareLink(code="abcd1234", sharer_id=creator.id, target_kind="product", target_id=product.id)
    session.add(link)
    session.flush()
    for minute in range(4):
        session.add(ShareClick(link_id=link.id, visitor_hash=f"v{minute}", clicked_at=T0))
    session.commit()

    confirmed = earn(creator, 200000, commission_bp=1000, ref=article.id, confirm_at=CONFIRMED_AT)  # 20000 commission
    pending = earn(creator, 10000, commission_bp=1000, ref=article.id, paid_at=T0 + timedelta(days=11))  # 1000
    refund_line(session.exec(select(OrderLine).where(OrderLine.order_id == pending.id)).one(), 5000, now=NOW)  # 1000 -> 500
    earn(creator, 3333, commission_bp=1250, source="share", ref=link.id, paid_at=T0 + timedelta(days=11))  # 416
    earn(make_user(is_creator=True), 50000, commission_bp=1000, paid_at=T0)
    admin = make_user(is_admin=True)
    payout = payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=CONFIRMED_AT)
    payouts.mark_payout_paid(session, payout_id=payout.id, admin_id=admin.id, now=CONFIRMED_AT)
    earn(creator, 60000, commission_bp=1000, ref=article.id, confirm_at=CONFIRMED_AT + timedelta(days=1))  # 6000 confirmed, unpaid
    return dict(creator=creator, article=article, link=link, confirmed=confirmed)


def test_the_dashboard_shows_views_clicks_orders_conversion_and_commission_per_source(session, scenario):
    dashboard = reports.creator_dashboard(session, creator_id=scenario["creator"].id, now=NOW)

    rows = {(row.source, row.ref): row for row in dashboard.rows}
    article_row = rows[("article", scenario["article"].id)]
    assert (article_row.views, article_row.recent_views, article_row.orders) == (200, 30, 3)
    assert article_row.conversion_bp == 150  # 3 orders / 200 views = 1.5%
    assert article_row.sales_fen == 200000 + 10000 - 5000 + 60000
    assert article_row.refunded_fen == 5000
    assert (article_row.pending_fen, article_row.confirmed_fen, article_row.paid_fen) == (500, 6000, 20000)
    share_row = rows[("share", scenario["link"].id)]
    assert (share_row.clicks, share_row.orders, share_row.conversion_bp) == (4, 1, 2500)
    assert (share_row.sales_fen, share_row.pending_fen) == (3333, 416)
    assert share_row.title == "商品 Product：保温杯"
    assert (dashboard.pending_fen, dashboard.confirmed_fen, dashboard.paid_fen) == (916, 6000, 20000)
    assert dashboard.totals.pending_fen + dashboard.totals.confirmed_fen + dashboard.totals.paid_fen == 916 + 6000 + 20000
    assert ("storefront", scenario["creator"].id) not in rows  # nothing sold through the storefront


def test_the_chart_covers_thirty_china_days_with_daily_commission(session, scenario):
    dashboard = reports.creator_dashboard(session, creator_id=scenario["creator"].id, now=NOW)

    days = {day.day: day for day in dashboard.days}
    assert len(dashboard.days) == 30 and dashboard.days[-1].day == date(2026, 11, 13)
    assert days[date(2026, 11, 1)].commission_fen == 20000 + 6000  # both paid at T0 (12:00 China time)
    assert days[date(2026, 11, 12)].commission_fen == 1000 + 416  # booked at payment, before the refund
    assert days[date(2026, 11, 12)].orders == 2
    assert days[date(2026, 11, 5)].commission_fen == 0


def test_the_dashboard_csv_has_yuan_amounts_and_percentages(session, scenario):
    text = reports.dashboard_csv(reports.creator_dashboard(session, creator_id=scenario["creator"].id, now=NOW))

    lines = text.splitlines()
    assert lines[0] == "source,title,path,views,clicks,orders,conversion,sales_yuan,refunded_yuan,pending_yuan,confirmed_yuan,paid_yuan"
    assert "article,羽绒服测评,/@kol/down-review,200,,3,1.50%,2650.00,50.00,5.00,60.00,200.00" in lines
    assert f"share,商品 Product：保温杯,/s/abcd1234,,4,1,25.00%,33.33,0.00,4.16,0.00,0.00" in lines


def test_csv_cells_that_look_like_formulas_are_defused():
    text = reports.write_csv(["title"], [["=HYPERLINK(\"http://evil\")"], ["-1+1"], ["@SUM(A1)"], ["普通标题"], ["-40.00"]])

    cells = [row[0] for row in csv.reader(io.StringIO(text))][1:]
    assert cells == ["'=HYPERLINK(\"http://evil\")", "'-1+1", "'@SUM(A1)", "普通标题", "-40.00"]


def test_the_dashboard_runs_a_fixed_number_of_queries_whatever_the_number_of_orders(session, engine, make_user, earn):
    creator = make_user(is_creator=True)
    article = add_article(session, creator)

    def count_queries():
        statements = []
        listener = lambda *args: statements.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            reports.creator_dashboard(session, creator_id=creator.id, now=NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    earn(creator, 1000, ref=article.id)
    few = count_queries()
    for _ in range(4):
        earn(creator, 1000, ref=article.id)

    assert count_queries() == few


def test_shop_sales_show_products_creators_commission_and_refunds(session, make_user, make_shop, earn, refund_line, make_paid_order, make_product):
    from zhongcao.ledger import ledger

    shop = make_shop()
    alice, bob = make_user(is_creator=True, handle="alice"), make_user(is_creator=True, handle="bob")
    first = earn(alice, 10000, commission_bp=1000, shop=shop)
    earn(bob, 3333, commission_bp=1250, shop=shop)
    refund_line(session.exec(select(OrderLine).where(OrderLine.order_id == first.id)).one(), 4000)
    plain = make_paid_order([dict(product=make_product(shop=shop, price_fen=500))])  # nobody credited
    ledger.record_payment(session, checkout_id=plain.checkout_id, now=T0)
    earn(alice, 99999, shop=make_shop())  # another shop's sale

    sales = reports.shop_sales(session, shop_id=shop.id)

    assert (sales.sales_fen, sales.refunded_fen) == (10000 + 3333 + 500, 4000)
    assert sales.commission_fen == 600 + 416
    assert sales.fee_fen == 120 + 66 + 10
    assert sales.payable_fen == (10000 - 4000 + 3333 + 500) - sales.commission_fen - sales.fee_fen
    by_creator = {row.handle: row for row in sales.creators}
    assert (by_creator["alice"].sales_fen, by_creator["alice"].commission_fen) == (6000, 600)
    assert (by_creator["bob"].sales_fen, by_creator["bob"].commission_fen) == (3333, 416)
    assert len(sales.products) == 3
