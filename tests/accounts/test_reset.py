"""Password reset tokens: random, stored only as a hash, single-use, expiring after an hour."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import TEST_PASSWORD
from zhongcao.accounts import reset, services as accounts
from zhongcao.accounts.models import PasswordResetToken
from zhongcao.clock import utcnow
from zhongcao.errors import InvalidInput

NEW_PASSWORD = "重新开始的密码很安全哦朋友"


def test_a_reset_request_for_an_unknown_or_malformed_email_makes_nothing(session, make_user):
    make_user()

    assert reset.request_password_reset(session, email="nobody@example.com") is None
    assert reset.request_password_reset(session, email="not an email") is None
    assert session.exec(select(PasswordResetToken)).all() == []


def test_only_the_hash_of_the_token_is_stored(session, make_user):
    user = make_user()

    found, token = reset.request_password_reset(session, email=user.email.upper())

    row = session.exec(select(PasswordResetToken)).one()
    assert found.id == user.id
    assert len(token) >= 40
    assert row.token_hash != token and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(hours=1)


def test_resetting_sets_the_password_and_ends_every_session(session, make_user):
    user = make_user()
    epoch_before = user.session_epoch
    _, token = reset.request_password_reset(session, email=user.email)

    changed = reset.reset_password(session, token=token, new_password=NEW_PASSWORD)

    assert changed.session_epoch == epoch_before + 1
    assert accounts.authenticate(session, email=user.email, password=NEW_PASSWORD).id == user.id
    assert accounts.authenticate(session, email=user.email, password=TEST_PASSWORD) is None


def test_a_token_works_only_once(session, make_user):
    user = make_user()
    _, token = reset.request_password_reset(session, email=user.email)
    reset.reset_password(session, token=token, new_password=NEW_PASSWORD)

    with pytest.raises(InvalidInput) as again:
        reset.reset_password(session, token=token, new_password="另一个足够长的新密码呀朋友们")

    assert again.value.code == "reset_token_invalid"
    assert reset.find_reset_user(session, token=token) is None


def test_using_one_token_uses_up_the_others(session, make_user):
    user = make_user()
    _, first = reset.request_password_reset(session, email=user.email)
    _, second = reset.request_password_reset(session, email=user.email)

    reset.reset_password(session, token=second, new_password=NEW_PASSWORD)

    assert reset.find_reset_user(session, token=first) is None


def test_a_token_expires_after_an_hour(session, make_user):
    user = make_user()
    issued = utcnow()
    _, token = reset.request_password_reset(session, email=user.email, now=issued)

    assert reset.find_reset_user(session, token=token, now=issued + timedelta(minutes=59)).id == user.id
    with pytest.raises(InvalidInput) as expired:
        reset.reset_password(session, token=token, new_password=NEW_PASSWORD, now=issued + timedelta(minutes=61))

    assert expired.value.code == "reset_token_invalid"


def test_a_made_up_token_is_refused(session, make_user):
    make_user()

    with pytest.raises(InvalidInput) as refused:
        reset.reset_password(session, token="made-up-token", new_password=NEW_PASSWORD)

    assert refused.value.code == "reset_token_invalid"


def test_a_weak_new_password_keeps_the_token_usable(session, make_user):
    user = make_user()
    _, token = reset.request_password_reset(session, email=user.email)

    with pytest.raises(InvalidInput) as weak:
        reset.reset_password(session, token=token, new_password="123456789012")

    assert weak.value.code == "password_too_common" and weak.value.field == "new_password"
    assert reset.find_reset_user(session, token=token).id == user.id


def test_a_deactivated_account_cannot_reset(session, make_user):
    user = make_user()
    _, token = reset.request_password_reset(session, email=user.email)
    user.is_active = False
    session.add(user)
    session.commit()

    with pytest.raises(InvalidInput):
        reset.reset_password(session, token=token, new_password=NEW_PASSWORD)
