"""Chinese shipping addresses: validation with every problem named, mobiles normalised, defaults, ownership."""
from __future__ import annotations

import pytest

from zhongcao.commerce import addresses
from zhongcao.errors import NotFound

GOOD = dict(recipient="李四", mobile="13912345678", province="广东省", city="深圳市", district="南山区", detail="科技园 8 栋 3 楼")


@pytest.mark.parametrize("written", ["13912345678", "139 1234 5678", "139-1234-5678", "+86 139 1234 5678", "+8613912345678", "0086 13912345678"])
def test_mainland_mobiles_are_stored_as_eleven_digits(written):
    assert addresses.normalise_mobile(written) == "13912345678"


@pytest.mark.parametrize("written", ["1391234567", "139123456789", "12912345678", "23912345678", "021-64381234", "+1 415 555 0100", "一三九", ""])
def test_other_numbers_are_not_mainland_mobiles(written):
    assert addresses.normalise_mobile(written) is None


def test_every_missing_or_wrong_field_is_named_at_once(session, make_user):
    with pytest.raises(addresses.AddressInvalid) as raised:
        addresses.save_address(session, user_id=make_user().id, recipient="  ", mobile="12345", province="",
                               city="深圳市", district="南" * 31, detail="x")

    assert raised.value.problems == {
        "recipient": "recipient_required", "mobile": "mobile_invalid", "province": "province_required",
        "district": "district_too_long",
    }


def test_fields_are_trimmed_and_the_mobile_normalised(session, make_user):
    user = make_user()

    saved = addresses.save_address(session, user_id=user.id, **{**GOOD, "recipient": "  李四 ", "mobile": "+86 139-1234-5678"})

    assert (saved.recipient, saved.mobile) == ("李四", "13912345678")


def test_the_first_address_is_the_default_and_the_default_can_move(session, make_user):
    user = make_user()
    first = addresses.save_address(session, user_id=user.id, **GOOD)
    second = addresses.save_address(session, user_id=user.id, **{**GOOD, "detail": "另一个地址"})
    assert [a.id for a in addresses.list_addresses(session, user_id=user.id)] == [first.id, second.id]

    addresses.set_default_address(session, user_id=user.id, address_id=second.id)

    listed = addresses.list_addresses(session, user_id=user.id)
    assert [(a.id, a.is_default) for a in listed] == [(second.id, True), (first.id, False)]
    assert addresses.find_default_address(session, user_id=user.id).id == second.id


def test_deleting_the_default_makes_another_address_the_default(session, make_user):
    user = make_user()
    first = addresses.save_address(session, user_id=user.id, **GOOD)
    second = addresses.save_address(session, user_id=user.id, **{**GOOD, "detail": "另一个地址"})

    addresses.delete_address(session, user_id=user.id, address_id=first.id)

    assert [(a.id, a.is_default) for a in addresses.list_addresses(session, user_id=user.id)] == [(second.id, True)]


def test_nobody_can_see_change_or_delete_another_persons_address(session, make_user):
    owner, other = make_user(), make_user()
    address = addresses.save_address(session, user_id=owner.id, **GOOD)

    with pytest.raises(NotFound):
        addresses.get_address(session, user_id=other.id, address_id=address.id)
    with pytest.raises(NotFound):
        addresses.save_address(session, user_id=other.id, address_id=address.id, **GOOD)
    with pytest.raises(NotFound):
        addresses.delete_address(session, user_id=other.id, address_id=address.id)
    assert addresses.get_address(session, user_id=owner.id, address_id=address.id).detail == GOOD["detail"]


def test_editing_an_address_changes_it_in_place(session, make_user):
    user = make_user()
    address = addresses.save_address(session, user_id=user.id, **GOOD)

    edited = addresses.save_address(session, user_id=user.id, address_id=address.id, **{**GOOD, "city": "广州市"})

    assert (edited.id, edited.city) == (address.id, "广州市")
