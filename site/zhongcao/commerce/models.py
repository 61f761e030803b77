"""Carts, checkouts, orders, payments and refunds. Money is integer fen; rates basis points.

One checkout (one payment) can hold products of several shops; it is split into one Order per shop,
as Chinese marketplaces do (拆单), because each merchant ships and refunds their own parcel.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, Relationship, SQLModel

from zhongcao.clock import utcnow

if TYPE_CHECKING:
    from zhongcao.catalog.models import Product

# Order states (issue 4 §4). Refunds are per line (OrderLine.refunded_quantity / RefundRequest).
PENDING_PAYMENT = "pending_payment"
PAID = "paid"
SHIPPED = "shipped"
RECEIVED = "received"
COMPLETED = "completed"
CANCELLED = "cancelled"

# Where an attribution came from, frozen on the cart line and copied to the order line.
SOURCE_ARTICLE = "article"  # a product block in an article: its author
SOURCE_SHARE = "share"  # a personal share link /s/<code>: the sharer
SOURCE_STOREFRONT = "storefront"  # a creator's storefront /@handle: the creator


class Cart(SQLModel, table=True):
    __tablename__ = "cart"
    __table_args__ = (
        # One cart per account: two first adds at once (two tabs, a double click) must not make two.
        # Anonymous carts have no owner and are found by their token instead.
        Index("uq_cart_owner_id", "owner_id", unique=True,
              sqlite_where=text("owner_id IS NOT NULL"), postgresql_where=text("owner_id IS NOT NULL")),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    owner_id: Optional[int] = Field(default=None, foreign_key="user_account.id")
    # Anonymous carts are found by a random token kept in a signed cookie; merged into the account at sign-in.
    token: Optional[str] = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CartLine(SQLModel, table=True):
    __tablename__ = "cart_line"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_line_product"),
        CheckConstraint("quantity > 0", name="ck_cart_line_quantity_positive"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    cart_id: int = Field(foreign_key="cart.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    # Frozen when the line is added (last click wins within the window); never re-read from the cookie later.
    beneficiary_id: Optional[int] = Field(default=None, foreign_key="user_account.id")
    attribution_source: Optional[str] = Field(default=None, max_length=16)
    attribution_ref: Optional[int] = None  # article id, share link id, or creator id, by source
    added_at: datetime = Field(default_factory=utcnow)
    # Read-only, loaded on first use; the line cart.add_to_cart returns already holds the product as
    # the add read it, so the view that shows "added" needs no second read.
    product: Product = Relationship(sa_relationship_kwargs={"viewonly": True})


class Address(SQLModel, table=True):
    __tablename__ = "address"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    recipient: str = Field(max_length=40)
    mobile: str = Field(max_length=20)
    province: str = Field(max_length=20)
    city: str = Field(max_length=30)
    district: str = Field(max_length=30)
    detail: str = Field(max_length=200)
    is_default: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Checkout(SQLModel, table=True):
    """What the buyer submitted once and pays once; split into one Order per shop."""

    __tablename__ = "checkout"

    id: Optional[int] = Field(default=None, primary_key=True)
    buyer_id: int = Field(foreign_key="user_account.id", index=True)
    # A double submit or a retried request with the same key returns the first checkout unchanged.
    idempotency_key: str = Field(max_length=64, unique=True)
    total_fen: int
    status: str = Field(default=PENDING_PAYMENT, max_length=20, index=True)  # pending_payment / paid / cancelled
    payment_provider: str = Field(default="sandbox", max_length=20)
    expires_at: datetime
    paid_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class Order(SQLModel, table=True):
    __tablename__ = "shop_order"  # "order" is a reserved word in SQL

    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)  # shown to people, e.g. ZC2611210000123
    checkout_id: int = Field(foreign_key="checkout.id", index=True)
    buyer_id: int = Field(foreign_key="user_account.id", index=True)
    shop_id: int = Field(foreign_key="shop.id", index=True)
    status: str = Field(default=PENDING_PAYMENT, max_length=20, index=True)
    total_fen: int
    # Address copied at order time: later edits to the address book never change a placed order.
    recipient: str = Field(max_length=40)
    mobile: str = Field(max_length=20)
    province: str = Field(max_length=20)
    city: str = Field(max_length=30)
    district: str = Field(max_length=30)
    address_detail: str = Field(max_length=200)
    carrier: Optional[str] = Field(default=None, max_length=40)
    tracking_number: Optional[str] = Field(default=None, max_length=60)
    paid_at: Optional[datetime] = None
    shipped_at: Optional[datetime] = None
    received_at: Optional[datetime] = None
    # 七天无理由: the return window closes 7 days after receipt; commission confirms only then.
    return_window_ends_at: Optional[datetime] = Field(default=None, index=True)
    completed_at: Optional[datetime] = None
    cancelled_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_order_line_quantity_positive"),
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="ck_order_line_refund_quantity"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= line_total_fen", name="ck_order_line_refund_amount"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    title: str = Field(max_length=120)  # snapshot
    unit_price_fen: int  # read from the product row at order time, never from the form
    quantity: int
    line_total_fen: int  # unit_price_fen * quantity: the amount actually paid for this line
    commission_bp: int  # the product's rate at order time
    beneficiary_id: Optional[int] = Field(default=None, foreign_key="user_account.id", index=True)
    attribution_source: Optional[str] = Field(default=None, max_length=16)
    attribution_ref: Optional[int] = None
    refunded_quantity: int = Field(default=0)
    refunded_fen: int = Field(default=0)


class OrderEvent(SQLModel, table=True):
    """Every state change of an order, with time and actor (None = the system, e.g. run-due)."""

    __tablename__ = "order_event"

    id: Optional[int] = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    from_status: Optional[str] = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor_id: Optional[int] = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("provider", "provider_ref", name="uq_payment_provider_ref"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    checkout_id: int = Field(foreign_key="checkout.id", unique=True)  # one successful payment per checkout
    provider: str = Field(max_length=20)
    provider_ref: str = Field(max_length=120)  # sandbox id or Stripe Checkout Session id
    amount_fen: int
    created_at: datetime = Field(default_factory=utcnow)


class WebhookEvent(SQLModel, table=True):
    """Provider events already handled: a replayed event id changes nothing."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_webhook_provider_event"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=120)
    event_type: str = Field(max_length=80)
    received_at: datetime = Field(default_factory=utcnow)


class RefundRequest(SQLModel, table=True):
    __tablename__ = "refund_request"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_refund_quantity_positive"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_line.id", index=True)
    quantity: int
    amount_fen: int
    reason: str = Field(default="", max_length=500)
    status: str = Field(default="requested", max_length=16, index=True)  # requested / refunded / rejected
    requested_by_id: int = Field(foreign_key="user_account.id")
    decided_by_id: Optional[int] = Field(default=None, foreign_key="user_account.id")
    requested_at: datetime = Field(default_factory=utcnow)
    decided_at: Optional[datetime] = None
