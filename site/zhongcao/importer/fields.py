"""Typed reads of one file's front matter; each wrong field becomes a Problem naming the file and field."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The catalog's rule, also fine for article slugs: lowercase letters and digits with single inner hyphens.
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*[a-z0-9]$")


@dataclass(frozen=True)
class Problem:
    """Why a file (or one field of it) could not be imported."""

    file: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}" if self.field else f"{self.file}: {self.message}"


class FieldReader:
    """Typed reads of one file's front matter, collecting a problem for each field that is wrong."""

    def __init__(self, file: str, data: dict[str, Any], problems: list[Problem]) -> None:
        self.file, self.data, self.problems = file, data, problems
        self.failed = False

    def problem(self, name: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, name, message))
        self.failed = True

    def check_known(self, allowed: set[str]) -> None:
        for name in sorted(set(self.data) - allowed, key=str):
            self.problem(str(name), f"unknown field (expected one of: {', '.join(sorted(allowed))})")

    def text(self, name: str, *, max_length: int, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return ""
        if not isinstance(value, str):
            self.problem(name, f"must be text (got {value!r})")
            return ""
        value = value.strip()
        if required and not value:
            self.problem(name, "must not be empty")
        elif len(value) > max_length:
            self.problem(name, f"must be at most {max_length} characters (got {len(value)})")
        return value

    def slug(self, name: str, *, max_length: int = 80) -> str:
        value = self.text(name, max_length=max_length)
        if value and (len(value) < 3 or not SLUG_PATTERN.match(value)):
            self.problem(name, f"must be 3-{max_length} lowercase letters, digits and single inner hyphens (got {value!r})")
        return value

    def whole(
        self, name: str, *, unit: str, required: bool = True, minimum: int | None = 0, maximum: int | None = None
    ) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return None
        # bool is an int in Python, and YAML turns "199.00" into a float: neither is a count of fen.
        if type(value) is not int:
            self.problem(name, f"must be a whole number of {unit} (got {value!r})")
            return None
        if minimum is not None and value < minimum:
            self.problem(name, f"must be at least {minimum} {unit} (got {value})")
        elif maximum is not None and value > maximum:
            self.problem(name, f"must be at most {maximum} {unit} (got {value})")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
        value = self.data.get(name, default)
        if value is None:
            self.problem(name, "is required")
            return ""
        if value not in choices:
            self.problem(name, f"must be one of {', '.join(choices)} (got {value!r})")
            return ""
        return value

    def text_list(self, name: str, *, max_items: int, max_length: int) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(name, f"must be a list of text (got {value!r})")
            return ()
        items = tuple(dict.fromkeys(item.strip() for item in value if item.strip()))
        if len(items) > max_items:
            self.problem(name, f"must have at most {max_items} items (got {len(items)})")
        for item in items:
            if len(item) > max_length:
                self.problem(name, f"each item must be at most {max_length} characters (got {item!r})")
        return items
