"""Earnings: the creator dashboard and payouts, admin payouts, merchant sales, honours and the rules page."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from htmx_flask import make_response, request

from zhongcao import db_session
from zhongcao.catalog import services as catalog
from zhongcao.errors import DomainError
from zhongcao.ledger import honours, ledger, payouts, reports
from zhongcao.web import messages
from zhongcao.web.auth import role_required
from zhongcao.formatting import yuan
from zhongcao.web.forms import EmptyForm

bp = Blueprint("earnings", __name__)


@bp.record_once
def _configure_ledger(state) -> None:
    # Domain callers (mark_checkout_paid) book payments without knowing the app; the fee comes from here.
    ledger.configure(state.app.extensions["zhongcao.engine"], platform_fee_bp=state.app.config["PLATFORM_FEE_BP"])


@bp.app_template_global("creator_badges")
def creator_badges(creator_id: int) -> list[honours.Badge]:
    """Badges for a storefront header (templates/earnings/partials/creator_badges.html)."""
    return honours.creator_badges(db_session(), creator_id=creator_id)


@bp.get("/dashboard")
@login_required
def show_dashboard():
    dashboard = reports.creator_dashboard(db_session(), creator_id=current_user.id)
    return render_template("earnings/dashboard.html", dashboard=dashboard, chart=bar_chart(dashboard.days), **_payout_context())


@bp.get("/dashboard/export.csv")
@login_required
def export_dashboard():
    dashboard = reports.creator_dashboard(db_session(), creator_id=current_user.id)
    return _csv(reports.dashboard_csv(dashboard), f"zhongcao-earnings-{current_user.handle}.csv")


@bp.get("/dashboard/payouts")
@login_required
def list_my_payouts():
    if request.htmx.target == "payout-panel":
        return render_template("earnings/partials/payout_panel.html", **_payout_context())
    return render_template("earnings/payouts.html", **_payout_context())


@bp.post("/dashboard/payouts")
@login_required
def request_payout():
    form = EmptyForm()
    error_text = ""
    if not form.validate_on_submit():
        error_text = messages.text("csrf")
    else:
        try:
            payouts.request_payout(db_session(), creator_id=current_user.id, min_fen=current_app.config["PAYOUT_MIN_FEN"])
        except DomainError as error:
            error_text = _payout_error(error)
    if request.htmx.target != "payout-panel":
        flash(error_text or "提现申请已提交 · Payout requested", "error" if error_text else "success")
        return redirect(url_for("earnings.list_my_payouts"), code=303)
    html = render_template("earnings/partials/payout_panel.html", error_text=error_text, **_payout_context())
    return (html, 422) if error_text else make_response(html, trigger="payout-requested")


def _payout_error(error: DomainError) -> str:
    text = messages.describe(error)
    if error.code == "payout_below_minimum":
        available, minimum = yuan(error.context["available_fen"]), yuan(error.context["min_fen"])
        text += f"（可提现 {available}，门槛 {minimum} · available {available}, minimum {minimum}）"
    return text


def _payout_context() -> dict:
    session = db_session()
    return dict(
        available_fen=ledger.balance(session, account=ledger.COMMISSION_CONFIRMED, owner_id=current_user.id),
        min_fen=current_app.config["PAYOUT_MIN_FEN"],
        my_payouts=payouts.list_payouts(session, creator_id=current_user.id),
        open_payout=payouts.find_open_payout(session, creator_id=current_user.id),
        form=EmptyForm(),
    )


@bp.get("/admin/payouts")
@role_required("admin")
def list_payouts():
    status = _status_arg()
    rows = payouts.list_payouts(db_session(), status=status)
    template = "earnings/partials/payout_queue.html" if request.htmx.target == "payout-queue" else "earnings/admin_payouts.html"
    return render_template(template, rows=rows, status=status, form=EmptyForm())


@bp.get("/admin/payouts.csv")
@role_required("admin")
def export_payouts():
    rows = payouts.list_payouts(db_session(), status=_status_arg(default=payouts.REQUESTED))
    return _csv(payouts.payouts_csv(rows), "zhongcao-payouts.csv")


@bp.post("/admin/payouts/<int:payout_id>/paid")
@role_required("admin")
def mark_payout_paid(payout_id: int):
    form = EmptyForm()
    error_text = ""
    if not form.validate_on_submit():
        error_text = messages.text("csrf")
    else:
        try:
            payouts.mark_payout_paid(db_session(), payout_id=payout_id, admin_id=current_user.id)
        except DomainError as error:
            error_text = messages.describe(error)
    status = _status_arg()
    if request.htmx.target != "payout-queue":
        flash(error_text or "已标记为已付款 · Marked paid", "error" if error_text else "success")
        return redirect(url_for("earnings.list_payouts", status=status), code=303)
    html = render_template(
        "earnings/partials/payout_queue.html", rows=payouts.list_payouts(db_session(), status=status), status=status,
        form=EmptyForm(), error_text=error_text,
    )
    return (html, 422) if error_text else html


def _status_arg(default: str | None = None) -> str | None:
    status = request.args.get("status", default)
    return status if status in (payouts.REQUESTED, payouts.PAID) else None


@bp.get("/shop/sales")
@role_required("merchant")
def show_shop_sales():
    shop = catalog.find_shop_of(db_session(), current_user.id)
    if shop is None:
        flash(messages.text("shop_required_for_sales"), "info")
        return redirect(url_for("catalog.edit_shop"), code=303)
    return render_template("earnings/shop_sales.html", shop=shop, sales=reports.shop_sales(db_session(), shop_id=shop.id))


@bp.get("/leaderboard")
def show_leaderboard():
    error_text, status = "", 200
    month = honours.current_month()
    if request.args.get("month"):
        try:
            month = honours.parse_month(request.args["month"])
        except DomainError as error:
            error_text, status = messages.describe(error), 422
    rows = honours.leaderboard(db_session(), month=month)
    return render_template(
        "earnings/leaderboard.html", rows=rows, month=month, error_text=error_text,
        previous=honours.previous_month(month), following=honours.next_month(month),
        is_current=month >= honours.current_month(),
    ), status


@bp.get("/help/commission")
def show_commission_rules():
    config = current_app.config
    return render_template(
        "earnings/commission_rules.html",
        window_days=config["ATTRIBUTION_WINDOW_DAYS"],
        return_days=config.get("RETURN_WINDOW_DAYS", 7),
        payout_min_fen=config["PAYOUT_MIN_FEN"],
        fee_bp=config["PLATFORM_FEE_BP"],
    )


def _csv(body: str, filename: str) -> Response:
    # A BOM so that Excel, which most creators and finance teams open these in, reads the UTF-8 Chinese.
    response = Response("\ufeff" + body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str
    tip: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: int
    bars: list[Bar]
    ticks: list[tuple[int, str]]
    max_label: str


CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_TOP, CHART_BOTTOM = 640, 180, 8, 16, 24


def bar_chart(days: list[reports.ChartDay]) -> Chart:
    """Geometry of the 30-day commission chart, in whole pixels: drawn as SVG presentation attributes
    by the template (no script, no inline style, so it passes the CSP)."""
    top = max((day.commission_fen for day in days), default=0)
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_height
    step = (CHART_WIDTH - 2 * CHART_LEFT) // max(len(days), 1)
    bars, ticks = [], []
    for index, day in enumerate(days):
        height = day.commission_fen * plot_height // top if top > 0 else 0
        if day.commission_fen > 0:
            height = max(height, 1)
        x = CHART_LEFT + index * step
        label = f"{day.day.month}-{day.day.day:02d}"
        tip = f"{day.day.isoformat()}：佣金 Commission {yuan(day.commission_fen)} · 订单 Orders {day.orders} · 销售额 Sales {yuan(day.sales_fen)}"
        bars.append(Bar(x + 1, baseline - height, max(step - 2, 1), height, label, tip))
        if index % 5 == 0 or index == len(days) - 1:
            ticks.append((x + step // 2, label))
    return Chart(CHART_WIDTH, CHART_HEIGHT, baseline, bars, ticks, yuan(top))
