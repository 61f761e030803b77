"""Earnings pages: the creator dashboard and payouts, admin payouts, merchant sales, leaderboard, rules, badges."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from zhongcao.ledger import ledger, payouts
from zhongcao.ledger.models import COMMISSION_PAID, Payout
from tests.ledger.factories import T0, earn, make_paid_order, refund_line  # noqa: F401  (fixtures)
from tests.social.factories import add_article

HTMX = {"HX-Request": "true"}
CONFIRMED_AT = T0 + timedelta(days=10)


@pytest.fixture
def creator(make_user):
    return make_user(is_creator=True, handle="kol")


@pytest.fixture
def creator_client(client, creator, sign_in_as):
    sign_in_as(client, creator)
    return client


def _fresh(session, model, row_id):
    session.rollback()  # end the test session's read snapshot so it sees the app's writes
    session.expire_all()
    return session.get(model, row_id)


def test_the_dashboard_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/dashboard")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"] or "sign" in response.headers["Location"]


def test_the_dashboard_shows_balances_rows_and_an_svg_chart_without_script_or_inline_style(session, creator, creator_client, earn):
    article = add_article(session, creator, title="防晒霜横评", view_count=40)
    earn(creator, 3333, commission_bp=1250, ref=article.id, paid_at=datetime.now(timezone.utc) - timedelta(days=2))

    response = creator_client.get("/dashboard")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "防晒霜横评" in html and "¥4.16" in html  # floor(33.33 × 12.5%)
    assert "2.5%" in html  # 1 order / 40 views
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count("<rect") == 30
    assert "style=" not in svg and "<script" not in html.split("</head>")[1]
    assert re.search(r'<rect class="bar" x="\d+" y="\d+" width="\d+" height="1[0-9]{2}" fill', svg)  # the one day with sales is the tallest


def test_the_dashboard_csv_is_an_attachment_with_the_rows(session, creator, creator_client, earn):
    article = add_article(session, creator, title="=恶意公式", slug="formula")
    earn(creator, 10000, commission_bp=1000, ref=article.id)

    response = creator_client.get("/dashboard/export.csv")

    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["title"] == "'=恶意公式"
    assert (rows[0]["orders"], rows[0]["sales_yuan"], rows[0]["pending_yuan"]) == ("1", "100.00", "10.00")


def test_a_payout_below_the_threshold_is_refused_with_a_clear_message(session, creator, creator_client, earn):
    earn(creator, 50000, commission_bp=1000, confirm_at=CONFIRMED_AT)  # ¥50.00 confirmed

    response = creator_client.post("/dashboard/payouts", headers={**HTMX, "HX-Target": "payout-panel"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="payout-panel"' in html
    assert "提现门槛" in html and "¥50.00" in html and "¥100.00" in html
    assert session.exec(select(Payout)).all() == []


def test_requesting_a_payout_with_htmx_returns_the_panel_and_records_it(session, creator, creator_client, earn):
    earn(creator, 150000, commission_bp=1000, confirm_at=CONFIRMED_AT)

    response = creator_client.post("/dashboard/payouts", headers={**HTMX, "HX-Target": "payout-panel"})

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "payout-requested"
    assert "处理中" in response.get_data(as_text=True)
    session.rollback()
    [payout] = session.exec(select(Payout)).all()
    assert (payout.creator_id, payout.amount_fen, payout.status) == (creator.id, 15000, "requested")


def test_requesting_a_payout_without_htmx_redirects_with_a_flash(creator_client, creator, earn):
    earn(creator, 150000, commission_bp=1000, confirm_at=CONFIRMED_AT)

    response = creator_client.post("/dashboard/payouts")
    page = creator_client.get(response.headers["Location"])

    assert response.status_code == 303
    assert "提现申请已提交" in page.get_data(as_text=True)


def test_the_payouts_page_serves_the_whole_page_or_the_panel(creator_client):
    page = creator_client.get("/dashboard/payouts")
    fragment = creator_client.get("/dashboard/payouts", headers={**HTMX, "HX-Target": "payout-panel"})

    assert "<html" in page.get_data(as_text=True)
    assert fragment.get_data(as_text=True).lstrip().startswith('<section class="panel payout-panel" id="payout-panel">')


def test_a_payout_post_without_a_csrf_token_is_refused(app, creator_client, creator, earn, session):
    earn(creator, 150000, commission_bp=1000, confirm_at=CONFIRMED_AT)
    app.config["WTF_CSRF_ENABLED"] = True

    response = creator_client.post("/dashboard/payouts")

    assert response.status_code == 400
    assert session.exec(select(Payout)).all() == []


@pytest.fixture
def open_payout(session, creator, earn):
    earn(creator, 123456, commission_bp=1000, confirm_at=CONFIRMED_AT)
    return payouts.request_payout(session, creator_id=creator.id, min_fen=10000, now=CONFIRMED_AT)


def test_only_admins_see_the_payout_queue(client, make_user, sign_in_as):
    sign_in_as(client, make_user(is_creator=True))

    assert client.get("/admin/payouts").status_code == 403
    assert client.get("/admin/payouts.csv").status_code == 403


def test_an_admin_marks_a_payout_paid_and_the_ledger_books_it(session, client, make_user, sign_in_as, open_payout, creator):
    admin = make_user(is_admin=True)
    sign_in_as(client, admin)

    queue = client.get("/admin/payouts?status=requested")
    response = client.post(f"/admin/payouts/{open_payout.id}/paid?status=requested", headers={**HTMX, "HX-Target": "payout-queue"})

    assert "@kol" in queue.get_data(as_text=True) and "¥123.45" in queue.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="payout-queue"' in response.get_data(as_text=True)
    payout = _fresh(session, Payout, open_payout.id)
    assert (payout.status, payout.paid_by_id) == ("paid", admin.id)
    assert ledger.balance(session, account=COMMISSION_PAID, owner_id=creator.id) == 12345
    assert ledger.check_ledger(session) == []

    again = client.post(f"/admin/payouts/{open_payout.id}/paid", headers={**HTMX, "HX-Target": "payout-queue"})
    assert again.status_code == 422
    assert "已标记为已付款" in again.get_data(as_text=True)


def test_the_bank_run_csv_lists_requested_payouts_in_yuan(client, make_user, sign_in_as, open_payout):
    sign_in_as(client, make_user(is_admin=True))

    response = client.get("/admin/payouts.csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert response.mimetype == "text/csv"
    assert [(row["creator_handle"], row["amount_yuan"], row["status"]) for row in rows] == [("kol", "123.45", "requested")]
    assert rows[0]["requested_at"] == CONFIRMED_AT.isoformat(timespec="seconds")


def test_a_merchant_sees_sales_by_product_and_creator(session, client, make_user, make_shop, sign_in_as, creator, earn, refund_line):
    merchant = make_user(is_merchant=True)
    shop = make_shop(owner=merchant)
    order = earn(creator, 10000, commission_bp=1000, shop=shop)
    from zhongcao.commerce.models import OrderLine

    refund_line(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one(), 2500)
    sign_in_as(client, merchant)

    html = client.get("/shop/sales").get_data(as_text=True)

    assert "@kol" in html
    assert "¥100.00" in html and "¥25.00" in html  # sales and refunds
    assert "¥7.50" in html  # commission on the ¥75.00 that remains paid


def test_shop_sales_need_a_merchant_with_a_shop(client, make_user, sign_in_as):
    sign_in_as(client, make_user(is_creator=True))
    assert client.get("/shop/sales").status_code == 403

    sign_in_as(client, make_user(is_merchant=True))
    response = client.get("/shop/sales")
    assert response.status_code == 303 and response.headers["Location"].endswith("/shop")


def test_the_leaderboard_lists_a_month_in_rank_order(client, make_user, earn):
    first, second = make_user(is_creator=True, handle="first"), make_user(is_creator=True, handle="second")
    november = datetime(2026, 11, 15, tzinfo=timezone.utc)
    earn(second, 10000, confirm_at=november)
    earn(first, 20000, confirm_at=november)

    html = client.get("/leaderboard?month=2026-11").get_data(as_text=True)

    assert html.index("@first") < html.index("@second")
    assert "¥200.00" in html


def test_a_malformed_month_gets_a_message_not_an_error(client):
    response = client.get("/leaderboard?month=2026-99")

    assert response.status_code == 422
    assert "月份格式" in response.get_data(as_text=True)


def test_the_rules_page_explains_attribution_and_commission(client):
    html = client.get("/help/commission").get_data(as_text=True)

    for phrase in ("最后点击", "Last click wins within 7 days", "One level only", "自购", "向下取整", "¥100.00", "negative adjustment"):
        assert phrase in html


@pytest.mark.parametrize("app_overrides", [{"ATTRIBUTION_WINDOW_DAYS": 3, "PAYOUT_MIN_FEN": 5000}])
def test_the_rules_page_follows_the_settings(client):
    html = client.get("/help/commission").get_data(as_text=True)

    assert "Last click wins within 3 days" in html and "¥50.00" in html


def test_storefronts_show_earned_badges(session, client, creator, earn):
    earn(creator, 10000)

    html = client.get("/@kol").get_data(as_text=True)

    assert 'id="creator-badges"' in html and "首单" in html
