"""Orders built directly as rows (Checkout → Order → OrderLine), so the ledger is tested on its own.

Import the fixtures into a conftest or test module: `from tests.ledger.factories import make_paid_order, refund_line`."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from zhongcao.commerce.models import PAID, Checkout, Order, OrderLine

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def make_paid_order(session, make_user, make_product):
    """make_paid_order(lines=[dict(product=…, quantity=…, unit_price_fen=…, commission_bp=…, beneficiary=…)],
    buyer=None, shop=None, paid_at=T0) -> Order (status paid, not yet booked in the ledger).
    Every line's product defaults to a new product of `shop` (or of one new shop)."""

    def factory(lines, buyer=None, paid_at=T0, shop=None):
        buyer = buyer or make_user()
        specs = [dict(spec) for spec in lines]
        for spec in specs:
            if "product" not in spec:
                spec["product"] = make_product(shop=shop) if shop else make_product()
                shop = shop or _shop_of(session, spec["product"])
        shop_id = specs[0]["product"].shop_id
        totals = [spec.get("unit_price_fen", spec["product"].price_fen) * spec.get("quantity", 1) for spec in specs]
        checkout = Checkout(
            buyer_id=buyer.id,
            idempotency_key=uuid.uuid4().hex,
            total_fen=sum(totals),
            status=PAID,
            expires_at=paid_at + timedelta(minutes=30),
            paid_at=paid_at,
            created_at=paid_at,
        )
        session.add(checkout)
        session.flush()
        order = Order(
            number=f"ZC{uuid.uuid4().hex[:12]}",
            checkout_id=checkout.id,
            buyer_id=buyer.id,
            shop_id=shop_id,
            status=PAID,
            total_fen=sum(totals),
            recipient="张三",
            mobile="13800138000",
            province="上海市",
            city="上海市",
            district="徐汇区",
            address_detail="漕溪北路 1 号",
            paid_at=paid_at,
            created_at=paid_at,
        )
        session.add(order)
        session.flush()
        for spec, total in zip(specs, totals):
            product = spec["product"]
            beneficiary = spec.get("beneficiary")
            session.add(
                OrderLine(
                    order_id=order.id,
                    product_id=product.id,
                    title=product.title,
                    unit_price_fen=spec.get("unit_price_fen", product.price_fen),
                    quantity=spec.get("quantity", 1),
                    line_total_fen=total,
                    commission_bp=spec.get("commission_bp", product.commission_bp),
                    beneficiary_id=beneficiary.id if beneficiary else None,
                    attribution_source=spec.get("source", "article" if beneficiary else None),
                    attribution_ref=spec.get("ref"),
                )
            )
        session.commit()
        return order

    return factory


def _shop_of(session, product):
    from zhongcao.catalog.models import Shop

    return session.get(Shop, product.shop_id)


@pytest.fixture
def refund_line(session):
    """Refund part of a line as the orders helper does: update the line, then book it in the ledger."""
    from zhongcao.db import atomic
    from zhongcao.ledger import ledger

    def refund(line, amount_fen, quantity=0, now=None):
        with atomic(session):
            line = session.get(OrderLine, line.id)
            line.refunded_fen += amount_fen
            line.refunded_quantity += quantity
            session.add(line)
            return ledger.record_refund(session, order_line_id=line.id, amount_fen=amount_fen, now=now)

    return refund


@pytest.fixture
def earn(session, make_paid_order, make_product):
    """earn(creator, paid_fen, commission_bp=1000, paid_at=T0, confirm_at=None, source=…, ref=…, quantity=1, shop=None)
    -> Order: a paid, booked order line credited to `creator`, confirmed at `confirm_at` when given."""
    from zhongcao.ledger import ledger

    def factory(creator, paid_fen, commission_bp=1000, paid_at=T0, confirm_at=None, source="article", ref=None, quantity=1,
                shop=None, buyer=None):
        product = make_product(price_fen=paid_fen, commission_bp=commission_bp, **({"shop": shop} if shop else {}))
        order = make_paid_order(
            [dict(product=product, quantity=quantity, beneficiary=creator, source=source, ref=ref)], paid_at=paid_at, buyer=buyer
        )
        ledger.record_payment(session, checkout_id=order.checkout_id, now=paid_at)
        if confirm_at is not None:
            ledger.confirm_order_commissions(session, order_id=order.id, now=confirm_at)
        return order

    return factory
