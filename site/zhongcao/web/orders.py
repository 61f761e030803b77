"""Orders: the buyer's history and order page (confirm receipt, refunds, buy again), the merchant's
queue (to ship, shipped, refunds to handle) and their decisions. Every write works with htmx (the
fragment it changed comes back) and as a plain form (303 back to the page).

Who sees what: buyers their own orders, merchants their shop's, admins every order; anyone else
gets 404, as if the order did not exist. Before a page shows orders it applies what is due for them
(auto-receive, completion, expiry), so a page is right even when `zhongcao run-due` has not run.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, has_request_context, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from htmx_flask import make_response, request
from werkzeug.routing import BuildError
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from zhongcao import db_session, mail
from zhongcao.catalog.services import find_shop_of
from zhongcao.clock import utcnow
from zhongcao.commerce import due, orders, refunds
from zhongcao.commerce.models import CANCELLED, COMPLETED, PAID, PENDING_PAYMENT, RECEIVED, SHIPPED
from zhongcao.errors import DomainError, NotFound
from zhongcao.social.notifications import order_number_of
from zhongcao.web import messages
from zhongcao.web.accounts import attach_error
from zhongcao.web.auth import role_required
from zhongcao.web.forms import REQUIRED, EmptyForm

bp = Blueprint("orders", __name__)

ORDER_LIST = "order-list"
ORDER_PANEL = "order-panel"
SHOP_ORDER_QUEUE = "shop-order-queue"
SHOP_ORDER_ROW = "shop-order-row-"
BUY_AGAIN = "buy-again-"
STATUS_LABELS = {
    PENDING_PAYMENT: ("待付款", "Awaiting payment"),
    PAID: ("待发货", "Paid, to ship"),
    SHIPPED: ("已发货", "Shipped"),
    RECEIVED: ("已收货", "Received"),
    COMPLETED: ("已完成", "Completed"),
    CANCELLED: ("已取消", "Cancelled"),
}
REFUND_LABELS = {
    orders.REFUND_REQUESTED: ("退款处理中", "Refund requested"),
    orders.REFUND_REFUNDED: ("已退款", "Refunded"),
    orders.REFUND_REJECTED: ("退款被拒", "Refund rejected"),
}
SHOP_TAB_LABELS = {
    "to_ship": ("待发货", "To ship"),
    "shipped": ("已发货", "Shipped"),
    "refunds": ("退款待处理", "Refunds to handle"),
    "all": ("全部", "All"),
}
CARRIERS = ("顺丰速运", "中通快递", "圆通速递", "韵达快递", "申通快递", "京东物流", "极兔速递", "EMS", "中国邮政")
MAIL_SUBJECTS = {
    "order_paid": "新订单待发货 · New order to ship: {number}",
    "order_shipped": "你的订单已发货 · Your order has shipped: {number}",
    "order_cancelled": "你的订单已被商家取消并退款 · Your order was cancelled and refunded: {number}",
    "refund_requested": "买家申请退款 · Refund requested: {number}",
    "refund_approved": "退款已完成 · Your refund is done: {number}",
    "refund_rejected": "退款申请未通过 · Your refund request was declined: {number}",
}


class ShipForm(FlaskForm):
    carrier = StringField("快递公司 Carrier", validators=[DataRequired(REQUIRED), Length(max=orders.CARRIER_MAX)])
    tracking_number = StringField("运单号 Tracking number", validators=[DataRequired(REQUIRED), Length(max=60)])


class RefundForm(FlaskForm):
    quantity = IntegerField("退款数量 Quantity", validators=[
        DataRequired(REQUIRED), NumberRange(min=1, max=999, message=messages.text("refund_quantity_invalid")),
    ])
    reason = TextAreaField("原因 Reason", validators=[Optional(), Length(max=refunds.REASON_MAX)])


class DecisionForm(FlaskForm):
    reason = StringField("说明 Note", validators=[Optional(), Length(max=refunds.REASON_MAX)])


@bp.app_template_global("order_status_label")
def order_status_label(status: str) -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    return f"{zh} {en}"


@bp.app_template_global("refund_status_label")
def refund_status_label(status: str) -> str:
    zh, en = REFUND_LABELS.get(status, (status, status))
    return f"{zh} {en}"


bp.add_app_template_global(order_number_of, "order_number_of")


def announce_order_change(notice: orders.OrderNotice) -> None:
    """Mail one order notice, rendered from templates/orders/mail/<kind>.txt (pass as `announce=`)."""
    link = _absolute(url_for("orders.show_order", number=notice.order_number))
    body = render_template(f"orders/mail/{notice.kind}.txt", notice=notice, link=link)
    subject = MAIL_SUBJECTS[notice.kind].format(number=notice.order_number)
    mail.send_mail(current_app, to=notice.recipient_email, subject=subject, body=body)


@bp.get("/orders")
@login_required
def list_orders():
    due.apply_due(db_session(), now=utcnow(), buyer_id=current_user.id, **_due_settings())
    page = orders.list_buyer_orders(db_session(), buyer_id=current_user.id, page=request.args.get("page", 1, type=int))
    if request.htmx.target == ORDER_LIST:
        return render_template("orders/partials/order_list.html", page=page)
    return render_template("orders/order_history.html", page=page)


@bp.get("/orders/<number>")
@login_required
def show_order(number: str):
    return _order_panel(number)


@bp.post("/orders/<number>/receive")
@login_required
def confirm_receipt(number: str):
    order = orders.get_order_by_number(db_session(), number)
    return _write(number, EmptyForm(), lambda form: orders.confirm_receipt(
        db_session(), order_id=order.id, buyer_id=current_user.id,
        return_window_days=current_app.config["RETURN_WINDOW_DAYS"],
    ), done="已确认收货 · Receipt confirmed")


@bp.post("/orders/<number>/cancel")
@login_required
def cancel_order(number: str):
    order = orders.get_order_by_number(db_session(), number)
    return _write(number, DecisionForm(), lambda form: orders.cancel_order(
        db_session(), order_id=order.id, actor_id=current_user.id, reason=form.reason.data or "",
        announce=announce_order_change,
    ), done="订单已取消 · Order cancelled")


@bp.post("/orders/<number>/lines/<int:line_id>/refund")
@login_required
def request_refund(number: str, line_id: int):
    order = orders.get_order_by_number(db_session(), number)
    if not orders.can_view(db_session(), order, current_user.id):
        raise orders.OrderNotFound()
    return _write(number, RefundForm(prefix=f"line-{line_id}"), lambda form: refunds.request_refund(
        db_session(), order_line_id=_line_of(order, line_id), quantity=form.quantity.data, buyer_id=current_user.id,
        reason=form.reason.data or "", announce=announce_order_change,
    ), done="退款申请已提交 · Refund requested", failed_form_key=f"refund_form_{line_id}")


@bp.post("/orders/<number>/buy-again")
@login_required
def buy_again(number: str):
    result = orders.buy_again(db_session(), number=number, buyer_id=current_user.id)
    notes = [f"已加入购物车 · Added to cart: {'、'.join(result.added)}"] if result.added else []
    notes += [f"{title}：{messages.describe(error)}" for title, error in result.skipped]
    if request.htmx.target == f"{BUY_AGAIN}{number}":
        html = render_template("orders/partials/buy_again.html", number=number, notes=notes)
        return make_response(html, trigger="cart-changed") if result.added else html
    for note in notes:
        flash(note, "success" if result.added else "error")
    return redirect(_cart_url(), code=303)


@bp.get("/shop/orders")
@role_required("merchant")
def list_shop_orders():
    shop = find_shop_of(db_session(), current_user.id)
    if shop is None:
        flash(messages.text("shop_required"), "info")
        return redirect(url_for("catalog.edit_shop"), code=303)
    tab = request.args.get("tab", "to_ship")
    tab = tab if tab in orders.SHOP_TABS else "to_ship"
    due.apply_due(db_session(), now=utcnow(), shop_id=shop.id, **_due_settings())
    context = dict(
        shop=shop, tab=tab, tabs=SHOP_TAB_LABELS, carriers=CARRIERS, counts=orders.count_shop_queue(db_session(), shop_id=shop.id),
        page=orders.list_shop_orders(db_session(), shop_id=shop.id, tab=tab, page=request.args.get("page", 1, type=int)),
    )
    if request.htmx.target == SHOP_ORDER_QUEUE:
        return render_template("orders/partials/shop_order_queue.html", **context)
    return render_template("orders/shop_orders.html", **context)


@bp.post("/shop/orders/<number>/ship")
@login_required
def ship_order(number: str):
    order = orders.get_order_by_number(db_session(), number)
    form = ShipForm(prefix=f"ship-{order.id}")
    if request.htmx.target == f"{SHOP_ORDER_ROW}{order.id}":
        return _ship_from_row(order, form)
    return _write(number, form, lambda form: orders.ship_order(
        db_session(), order_id=order.id, actor_id=current_user.id, carrier=form.carrier.data,
        tracking_number=form.tracking_number.data, announce=announce_order_change,
    ), done="已发货 · Shipped", failed_form_key="ship_form")


@bp.post("/refunds/<int:refund_id>/approve")
@login_required
def approve_refund(refund_id: int):
    number = _refund_order_number(refund_id)
    return _write(number, EmptyForm(), lambda form: refunds.approve_refund(
        db_session(), refund_id=refund_id, actor_id=current_user.id, announce=announce_order_change,
    ), done="已退款 · Refunded")


@bp.post("/refunds/<int:refund_id>/reject")
@login_required
def reject_refund(refund_id: int):
    number = _refund_order_number(refund_id)
    return _write(number, DecisionForm(), lambda form: refunds.reject_refund(
        db_session(), refund_id=refund_id, actor_id=current_user.id, reason=form.reason.data or "",
        announce=announce_order_change,
    ), done="已拒绝退款 · Refund rejected")


def _order_panel(number: str, *, status: int = 200, **forms):
    """The order page, or only its panel when htmx swaps #order-panel; `forms` carries failed forms back."""
    due.apply_due(db_session(), now=utcnow(), order_number=number, **_due_settings())
    detail = orders.get_order_detail(db_session(), number=number, viewer_id=current_user.id)
    context = dict(detail=detail, carriers=CARRIERS, problems=forms.pop("problems", []), ship_form=forms.pop("ship_form", None)
                   or ShipForm(formdata=None, prefix=f"ship-{detail.order.id}"), failed_forms=forms)
    if request.htmx.target == ORDER_PANEL:
        return render_template("orders/partials/order_panel.html", **context), status
    return render_template("orders/order_detail.html", **context), status


def _write(number: str, form: FlaskForm, action, *, done: str, failed_form_key: str | None = None):
    """Validate, run the domain action, then answer with the panel (htmx) or a redirect to the order page."""
    if form.validate_on_submit():
        try:
            action(form)
        except DomainError as error:
            if isinstance(error, NotFound):
                raise  # not the viewer's order or refund: 404, as for any stranger
            attach_error(form, error)
        else:
            if request.htmx.target == ORDER_PANEL:
                return make_response(_order_panel(number)[0], trigger="order-changed")
            flash(done, "success")
            return redirect(url_for("orders.show_order", number=number), code=303)
    problems = [*form.form_errors, *(text for field in form for text in field.errors)]
    if not request.htmx:
        for text in problems:
            flash(text, "error")
        return redirect(url_for("orders.show_order", number=number), code=303)
    failed = {failed_form_key: form} if failed_form_key else {"problems": problems}
    return _order_panel(number, status=422, **failed)


def _ship_from_row(order, form: ShipForm):
    """Ship from the merchant queue: the queue row comes back, shipped or with the form's errors."""
    status = 200
    if form.validate_on_submit():
        try:
            orders.ship_order(db_session(), order_id=order.id, actor_id=current_user.id, carrier=form.carrier.data,
                              tracking_number=form.tracking_number.data, announce=announce_order_change)
        except DomainError as error:
            if isinstance(error, NotFound):
                raise
            attach_error(form, error)
            status = 422
    else:
        status = 422
    summary = orders.get_order_summary(db_session(), order_id=order.id, owner_id=current_user.id)
    html = render_template("orders/partials/shop_order_row.html", item=summary, ship_form=form, carriers=CARRIERS)
    return (html, status) if status != 200 else make_response(html, trigger="order-changed")


def _line_of(order, line_id: int) -> int:
    """The line id if it belongs to the order in the URL (else the domain's OrderNotFound)."""
    from zhongcao.commerce.models import OrderLine

    line = db_session().get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise orders.OrderNotFound()
    return line.id


def _refund_order_number(refund_id: int) -> str:
    number = refunds.find_refund_order_number(db_session(), refund_id=refund_id)
    if number is None:
        raise refunds.RefundNotFound()
    return number


def _due_settings() -> dict:
    return {
        "auto_receive_days": current_app.config["AUTO_RECEIVE_DAYS"],
        "return_window_days": current_app.config["RETURN_WINDOW_DAYS"],
    }


def _cart_url() -> str:
    try:
        return url_for("commerce.show_cart")
    except BuildError:  # the cart blueprint is registered by the cart-checkout work
        return "/cart"


def _absolute(path: str) -> str:
    base = (current_app.config.get("SITE_URL") or "").rstrip("/")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    return base + path
