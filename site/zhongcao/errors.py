"""Domain errors: each carries a stable code that web/messages.py turns into zh-CN and English text."""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, detail: str = "", **context: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.context = context


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class InvalidInput(DomainError):
    """Input that passed the form's shape checks but breaks a business rule; `field` names the culprit."""

    code = "invalid_input"

    def __init__(self, detail: str = "", *, field: str | None = None, code: str | None = None, **context: object):
        super().__init__(detail, **context)
        self.field = field
        if code:
            self.code = code


class Conflict(DomainError):
    code = "conflict"

    def __init__(self, detail: str = "", *, field: str | None = None, code: str | None = None, **context: object):
        super().__init__(detail, **context)
        self.field = field
        if code:
            self.code = code
