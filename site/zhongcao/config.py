"""Defaults for every setting; each can be overridden by a ZHONGCAO_* environment variable."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_SECRET = "dev-secret-not-for-production"


class Defaults:
    ENV = "development"
    SECRET_KEY = DEV_SECRET
    # A SQLite file under instance/ unless ZHONGCAO_DATABASE_URL says otherwise.
    DATABASE_URL = ""
    # Uploads and the search index live here, outside the code tree.
    DATA_DIR = ""
    # Trust X-Forwarded-For only when this many proxies stand in front of us (0 = none).
    PROXY_COUNT = 0
    # Flask-Limiter storage: memory:// is per process; use redis://127.0.0.1:6379 with several servers.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; the session epoch bounds it
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    # Platform bounds on the commission a merchant may offer, in basis points (1% .. 50%).
    COMMISSION_MIN_BP = 100
    COMMISSION_MAX_BP = 5000
    # Fetching remote images into articles at save time; off in tests (no network there).
    FETCH_REMOTE_IMAGES = True
    # Attribution: a share-link click or product-block click counts for this many days (last click wins).
    ATTRIBUTION_WINDOW_DAYS = 7
    # Account mail (password reset): "console" writes it to the log, "memory" keeps it for tests.
    MAIL_BACKEND = "console"
    MAIL_SENDER = "种草 Zhongcao <no-reply@zhongcao.example>"
    SITE_NAME = "种草 Zhongcao"
    SITE_URL = ""  # e.g. https://zhongcao.example; empty means "use the request's host"
    # "whoosh": an index in DATA_DIR/search on a disk every worker shares; "postgres": full text in the
    # database (PostgreSQL only), for several app servers without a shared disk.
    SEARCH_BACKEND = "whoosh"
    # Processes `zhongcao reindex` may use to build a Whoosh index (more only helps on big corpora).
    SEARCH_BUILD_PROCS = 1
    # Checkout (issue 4 §2–3): unpaid checkouts give their stock back after this many minutes; the
    # payment provider is "sandbox" (no real money; refused in production) or "stripe".
    CHECKOUT_EXPIRY_MINUTES = 30
    PAYMENT_PROVIDER = "sandbox"
    # Ledger (issue 4 §6–7): the platform's fee on every paid line, in basis points (floored to the fen),
    # and the smallest confirmed balance a creator may ask to be paid out, in fen (¥100.00).
    PLATFORM_FEE_BP = 200
    PAYOUT_MIN_FEN = 10000
    # Stripe Checkout (PAYMENT_PROVIDER = "stripe"): the secret API key and the webhook endpoint's
    # signing secret (whsec_…), both from the Stripe dashboard. STRIPE_API_BASE is for tests only.
    STRIPE_SECRET_KEY = ""
    STRIPE_WEBHOOK_SECRET = ""
    STRIPE_API_BASE = ""
    # Orders (issue 4 §4): a shipped order counts as received this many days after shipping unless the
    # buyer confirms sooner; the 7-day no-reason return window (七天无理由) runs from receipt.
    AUTO_RECEIVE_DAYS = 10
    RETURN_WINDOW_DAYS = 7


def instance_dir() -> Path:
    return PROJECT_ROOT / "instance"


def default_database_url() -> str:
    path = instance_dir() / "zhongcao.sqlite3"
    return f"sqlite:///{path}"


def default_data_dir() -> str:
    return str(PROJECT_ROOT / "data")


def is_production(config: dict) -> bool:
    return str(config.get("ENV", "")).lower() == "production" or os.environ.get("ZHONGCAO_ENV") == "production"
