"""Account operations: sign-in checks, sessions, roles, user search and creator applications."""
from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD
from zhongcao.accounts import services as accounts
from zhongcao.errors import Conflict, Forbidden, InvalidInput


def test_unknown_email_and_wrong_password_get_the_same_answer(session, make_user):
    user = make_user()

    unknown = accounts.authenticate(session, email="nobody@example.com", password=TEST_PASSWORD)
    wrong = accounts.authenticate(session, email=user.email, password="not-the-password-at-all")
    right = accounts.authenticate(session, email=user.email.upper(), password=TEST_PASSWORD)

    assert unknown is None and wrong is None
    assert right.id == user.id


def test_an_inactive_account_cannot_sign_in(session, make_user):
    user = make_user(is_active=False)

    assert accounts.authenticate(session, email=user.email, password=TEST_PASSWORD) is None


def test_ending_all_sessions_moves_the_epoch_on(session, make_user):
    user = make_user()
    before = user.session_epoch

    accounts.end_all_sessions(session, user_id=user.id)

    assert accounts.get_user(session, user.id).session_epoch == before + 1


def test_changing_the_password_needs_the_current_one_and_ends_sessions(session, make_user):
    user = make_user()

    with pytest.raises(InvalidInput) as wrong:
        accounts.change_password(session, user_id=user.id, current_password="wrong-password-1", new_password="新的密码足够长了吧朋友们")
    changed = accounts.change_password(
        session, user_id=user.id, current_password=TEST_PASSWORD, new_password="新的密码足够长了吧朋友们"
    )

    assert wrong.value.code == "password_wrong"
    assert changed.session_epoch == 1
    assert accounts.authenticate(session, email=user.email, password="新的密码足够长了吧朋友们").id == user.id


def test_an_admin_changes_roles(session, make_user):
    admin = make_user(is_admin=True)
    reader = make_user()

    changed = accounts.change_roles(
        session, user_id=reader.id, admin_id=admin.id, is_creator=True, is_merchant=True, is_admin=False
    )

    assert (changed.is_creator, changed.is_merchant, changed.is_admin) == (True, True, False)


def test_an_admin_cannot_remove_their_own_admin_role(session, make_user):
    admin = make_user(is_admin=True)

    with pytest.raises(InvalidInput) as refused:
        accounts.change_roles(session, user_id=admin.id, admin_id=admin.id, is_creator=True, is_merchant=False, is_admin=False)

    assert refused.value.code == "cannot_remove_own_admin"
    session.refresh(admin)
    assert admin.is_admin and not admin.is_creator


def test_only_admins_change_roles(session, make_user):
    reader, other = make_user(), make_user()

    with pytest.raises(Forbidden):
        accounts.change_roles(session, user_id=other.id, admin_id=reader.id, is_creator=False, is_merchant=False, is_admin=True)


def test_user_search_matches_handle_or_email_in_any_case(session, make_user):
    make_user(handle="MeiMei_Reviews", email="mm@example.com")
    make_user(handle="laowang", email="meimei.fan@example.org")
    make_user(handle="xiaoli", email="li@example.com")

    users, total = accounts.search_users(session, query="MEIMEI")

    assert total == 2
    assert {user.handle for user in users} == {"MeiMei_Reviews", "laowang"}


def test_user_search_treats_like_wildcards_literally(session, make_user):
    make_user(handle="abc_def")
    make_user(handle="abcxdef")

    users, total = accounts.search_users(session, query="c_d")

    assert total == 1 and users[0].handle == "abc_def"


def test_user_search_pages_through_everyone(session, make_user):
    for _ in range(5):
        make_user()

    first, total = accounts.search_users(session, page=1, per_page=2)
    last, _ = accounts.search_users(session, page=3, per_page=2)

    assert total == 5
    assert len(first) == 2 and len(last) == 1
    assert first[0].id < first[1].id < last[0].id


def test_an_approved_application_makes_the_reader_a_creator(session, make_user):
    admin, reader = make_user(is_admin=True), make_user()
    application = accounts.apply_for_creator(session, user_id=reader.id, pitch="我写护肤测评三年了，小红书两万粉丝")

    accounts.decide_application(session, application_id=application.id, admin_id=admin.id, approve=True)

    assert accounts.get_user(session, reader.id).is_creator
    assert accounts.list_pending_applications(session) == []


def test_a_rejected_application_leaves_a_reader_and_cannot_be_decided_again(session, make_user):
    admin, reader = make_user(is_admin=True), make_user()
    application = accounts.apply_for_creator(session, user_id=reader.id, pitch="I review hiking gear every week")

    accounts.decide_application(session, application_id=application.id, admin_id=admin.id, approve=False)
    with pytest.raises(Conflict) as again:
        accounts.decide_application(session, application_id=application.id, admin_id=admin.id, approve=True)

    assert again.value.code == "application_decided"
    assert not accounts.get_user(session, reader.id).is_creator


def test_only_admins_decide_applications(session, make_user):
    reader, other = make_user(), make_user()
    application = accounts.apply_for_creator(session, user_id=other.id, pitch="I review hiking gear every week")

    with pytest.raises(Forbidden):
        accounts.decide_application(session, application_id=application.id, admin_id=reader.id, approve=True)
