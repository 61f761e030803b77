"""Password rules (12–128 characters of any script, no common passwords) and argon2id hashing."""
from __future__ import annotations

import unicodedata

import pytest

from zhongcao.accounts import passwords
from zhongcao.errors import InvalidInput


def test_a_chinese_password_is_accepted_and_verifies():
    password = "我的密码是种草达人最好的朋友"

    checked = passwords.check_password_rules(password)
    stored = passwords.hash_password(checked)

    assert passwords.verify_password(stored, password)
    assert not passwords.verify_password(stored, "我的密码是种草达人最好的朋")


def test_an_emoji_password_is_accepted_and_verifies():
    password = "🌱🌿🍀🌵🌴🌲🌳🌾🍁🍂🍃🌻"

    stored = passwords.hash_password(passwords.check_password_rules(password))

    assert passwords.verify_password(stored, password)


def test_the_hash_is_argon2id():
    assert passwords.hash_password("plenty-long-passphrase").startswith("$argon2id$")


def test_128_characters_is_the_longest_password_allowed():
    assert passwords.check_password_rules("草" * 64 + "ab" * 32) == "草" * 64 + "ab" * 32

    with pytest.raises(InvalidInput) as refused:
        passwords.check_password_rules("草" * 64 + "ab" * 32 + "c")

    assert refused.value.code == "password_too_long"


def test_eleven_characters_is_too_short():
    with pytest.raises(InvalidInput) as refused:
        passwords.check_password_rules("short-pass1")

    assert refused.value.code == "password_too_short"


@pytest.mark.parametrize("common", ["123456789012", "Administrator", "aaaaaaaaaaaaaaaa", "abababababab"])
def test_common_or_repetitive_passwords_are_refused(common):
    with pytest.raises(InvalidInput) as refused:
        passwords.check_password_rules(common)

    assert refused.value.code == "password_too_common"


def test_a_password_typed_composed_or_decomposed_verifies_the_same():
    composed = "café-au-lait-pour-moi"
    decomposed = unicodedata.normalize("NFD", composed)

    stored = passwords.hash_password(composed)

    assert decomposed != composed
    assert passwords.verify_password(stored, decomposed)


def test_a_broken_hash_never_verifies():
    assert not passwords.verify_password("not-a-hash", "anything-at-all")
