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


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    # Same-origin requests keep the full Referer, which Flask-WTF's HTTPS CSRF check reads.
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def add_security_headers(response: Response) -> Response:
    """Add each header a view did not set itself (media files and the reset page set stricter ones)."""
    headers = response.headers
    # One pass over the few headers a response has, instead of a case-insensitive search per header.
    present = {name.lower() for name, _ in headers}
    headers.extend([(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present])
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
