"""Password rules and hashing: argon2id (argon2-cffi's defaults), 12-128 characters of any script."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from zhongcao.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128
_hasher = PasswordHasher()  # argon2id; it hashes the whole password, so nothing is truncated


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("zhongcao").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def normalise(password: str) -> str:
    # NFC so that the same Chinese or accented password typed on two keyboards hashes the same.
    return unicodedata.normalize("NFC", password)


def check_password_rules(password: str, *, field: str = "password") -> str:
    """Return the normalised password, or raise InvalidInput (too short, too long, too common)."""
    password = normalise(password or "")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field=field, code="password_too_short")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(field=field, code="password_too_long")
    if password.lower() in _common_passwords() or len(set(password)) <= 2:
        raise InvalidInput(field=field, code="password_too_common")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verifying against this keeps an unknown email as slow as a wrong password (no account enumeration by timing).
DUMMY_HASH = _hasher.hash("zhongcao-dummy-password-for-timing")
