"""The address book: Chinese shipping addresses (province, city, district, detail, recipient, mobile).

Every field is required and trimmed; lengths match the columns. Mobiles are mainland numbers:
11 digits starting 1[3-9], written with or without spaces or hyphens and an optional +86 / 0086
prefix, stored as the bare 11 digits. One address per user may be the default; a user only ever
sees and uses their own addresses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, select

from zhongcao.commerce.models import Address
from zhongcao.db import atomic
from zhongcao.errors import InvalidInput, NotFound
from zhongcao.plainsql import PlainQuery

# The column widths in commerce/models.py Address.
LIMITS = {"recipient": 40, "mobile": 20, "province": 20, "city": 30, "district": 30, "detail": 200}
FIELDS = ("recipient", "mobile", "province", "city", "district", "detail")
MAX_ADDRESSES = 20
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-()（）]")

# The 34 provincial-level divisions, offered as suggestions (people also write "广东" for "广东省").
PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省",
    "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省",
    "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区", "西藏自治区",
    "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)


class AddressInvalid(InvalidInput):
    """One or more fields are wrong; `problems` maps each field to its error code."""

    code = "address_invalid"

    def __init__(self, problems: dict[str, str]) -> None:
        first_field, first_code = next(iter(problems.items()))
        super().__init__(field=first_field, code=first_code)
        self.problems = problems


class TooManyAddresses(InvalidInput):
    code = "too_many_addresses"


@dataclass(frozen=True)
class AddressFields:
    recipient: str
    mobile: str
    province: str
    city: str
    district: str
    detail: str


def normalise_mobile(value: str | None) -> str | None:
    """The bare 11-digit mainland mobile, or None when `value` is not one."""
    digits = _SEPARATORS.sub("", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def check_address(**values: str | None) -> AddressFields:
    """Trimmed, validated fields. Raises AddressInvalid naming every field that is wrong."""
    cleaned: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name in FIELDS:
        value = " ".join((values.get(name) or "").split())
        if not value:
            problems[name] = f"{name}_required"
        elif len(value) > LIMITS[name]:
            problems[name] = f"{name}_too_long"
        cleaned[name] = value
    if "mobile" not in problems:
        mobile = normalise_mobile(cleaned["mobile"])
        if mobile is None:
            problems["mobile"] = "mobile_invalid"
        else:
            cleaned["mobile"] = mobile
    if problems:
        raise AddressInvalid(problems)
    return AddressFields(**cleaned)


# Built once: the checkout page and every placed order run these (see cart.py).
_ADDRESSES = Address.__table__
_BOOK_ORDER = (_ADDRESSES.c.is_default.desc(), _ADDRESSES.c.id.desc())
_BOOK = select(Address).where(Address.user_id == bindparam("user_id")).order_by(*_BOOK_ORDER)
# The checkout page lists the book on every order: plain rows, a quarter of the cost of ORM objects.
_BOOK_ROWS = PlainQuery(select(_ADDRESSES).where(_ADDRESSES.c.user_id == bindparam("user_id")).order_by(*_BOOK_ORDER))
_OWN_ADDRESS = select(Address).where(Address.id == bindparam("address_id"), Address.user_id == bindparam("user_id"))


def list_addresses(session: Session, *, user_id: int) -> list[tuple]:
    """The user's addresses, the default first, then newest first, as read-only named rows with Address's
    columns (change one through save_address / set_default_address)."""
    return _BOOK_ROWS.rows(session, user_id=user_id)


def get_address(session: Session, *, user_id: int, address_id: int) -> Address:
    """One of the user's own addresses. Raises NotFound for anyone else's (no hint that it exists)."""
    address = session.exec(_OWN_ADDRESS, params={"address_id": address_id, "user_id": user_id}).first()
    if address is None:
        raise NotFound()
    return address


def find_default_address(session: Session, *, user_id: int) -> Address | None:
    return session.exec(_BOOK.limit(1), params={"user_id": user_id}).first()


def save_address(
    session: Session,
    *,
    user_id: int,
    address_id: int | None = None,
    make_default: bool = False,
    **values: str | None,
) -> Address:
    """Create an address (`address_id` None) or change one of the user's own.

    The first address becomes the default. Raises AddressInvalid, TooManyAddresses, NotFound.
    """
    fields = check_address(**values)
    with atomic(session):
        if address_id is None:
            count = len(list_addresses(session, user_id=user_id))
            if count >= MAX_ADDRESSES:
                raise TooManyAddresses()
            address = Address(user_id=user_id, **fields.__dict__)
            make_default = make_default or count == 0
        else:
            address = get_address(session, user_id=user_id, address_id=address_id)
            for name, value in fields.__dict__.items():
                setattr(address, name, value)
        session.add(address)
        session.flush()
        if make_default:
            _make_default(session, user_id=user_id, address=address)
    return address


def set_default_address(session: Session, *, user_id: int, address_id: int) -> Address:
    """Make one of the user's addresses the default. Raises NotFound."""
    with atomic(session):
        address = get_address(session, user_id=user_id, address_id=address_id)
        _make_default(session, user_id=user_id, address=address)
    return address


def delete_address(session: Session, *, user_id: int, address_id: int) -> None:
    """Delete one of the user's addresses (placed orders keep their own copy). Raises NotFound.

    When the default goes, the newest remaining address becomes the default.
    """
    with atomic(session):
        address = get_address(session, user_id=user_id, address_id=address_id)
        was_default = address.is_default
        session.delete(address)
        session.flush()
        if was_default:
            successor = find_default_address(session, user_id=user_id)
            if successor is not None:
                _make_default(session, user_id=user_id, address=successor)


def _make_default(session: Session, *, user_id: int, address: Address) -> None:
    for other in session.exec(select(Address).where(Address.user_id == user_id, Address.is_default.is_(True))):
        if other.id != address.id:
            other.is_default = False
            session.add(other)
    address.is_default = True
    session.add(address)
