"""Steps every browser journey shares: signing in through the real form, and watching the console."""
from __future__ import annotations

from tests.conftest import TEST_PASSWORD


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def watch_for_problems(page) -> list[str]:
    """Console errors (CSP violations are reported there) and uncaught page errors."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems
