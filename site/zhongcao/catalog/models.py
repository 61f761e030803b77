"""Shops, categories and products. Money is integer fen; commission is integer basis points."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Column, Text
from sqlmodel import Field, SQLModel

from zhongcao.clock import utcnow

PRODUCT_ACTIVE = "active"
PRODUCT_HIDDEN = "hidden"


class Shop(SQLModel, table=True):
    __tablename__ = "shop"

    id: Optional[int] = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user_account.id", unique=True, index=True)  # one shop per merchant
    slug: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=80)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Category(SQLModel, table=True):
    __tablename__ = "category"

    id: Optional[int] = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True, index=True)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(max_length=60)
    position: int = Field(default=0)


class Product(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="ck_product_stock_not_negative"),
        CheckConstraint("price_fen >= 0", name="ck_product_price_not_negative"),
        CheckConstraint("commission_bp >= 0 AND commission_bp <= 10000", name="ck_product_commission_range"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id", index=True)
    category_id: Optional[int] = Field(default=None, foreign_key="category.id", index=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    title: str = Field(max_length=120)
    brand: str = Field(default="", max_length=60)
    description_md: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description_html: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    price_fen: int
    list_price_fen: Optional[int] = None  # the crossed-out "was" price, if any
    stock: int = Field(default=0)
    status: str = Field(default=PRODUCT_ACTIVE, max_length=16, index=True)
    commission_bp: int = Field(default=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProductImage(SQLModel, table=True):
    __tablename__ = "product_image"

    id: Optional[int] = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    upload_id: int = Field(foreign_key="upload.id")
    position: int = Field(default=0)
    alt: str = Field(default="", max_length=200)
