"""Response headers every page carries, and the local-path check for redirect targets."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

# htmx is configured (meta htmx-config in base.html) to need neither inline scripts nor eval,
# and to inject no inline indicator styles, so the policy can forbid both.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Same-origin requests keep the full Referer, which Flask-WTF's HTTPS CSRF check reads.
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def is_local_path(target: str | None) -> bool:
    """True only for a path on this site: "/x", never "//evil", "/\\evil", "https://…" or control characters."""
    if not target or not target.startswith("/") or target.startswith("//") or target.startswith("/\\"):
        return False
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, fallback: str = "/") -> str:
    return target if is_local_path(target) else fallback


def install(app: Flask) -> None:
    app.after_request(add_security_headers)
