"""Who is visiting, as little as we need to know: a daily pseudonym, and whether it is a known bot.

The pseudonym is HMAC-SHA256 (keyed with the app secret) of the day, the client address and the user
agent. The day acts as a salt that rotates at midnight UTC, so stored hashes cannot be joined across
days and cannot be reversed to an address without the secret.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

# Crawlers, link unfurlers and scripted clients. Matched case-insensitively anywhere in the User-Agent.
# Unfurlers (WhatsApp, Slackbot, facebookexternalhit …) fetch a link the moment it is pasted into a chat;
# counting them would credit a click nobody made.
BOT_PATTERNS = (
    "bot", "spider", "crawl", "slurp",  # Googlebot, bingbot, Baiduspider, YandexBot, 360Spider, Bytespider …
    "googlebot", "bingbot", "baiduspider", "yandexbot", "sogou", "360spider", "bytespider", "petalbot",
    "yisouspider", "applebot", "duckduckbot", "semrush", "ahrefs", "mj12bot", "dotbot",
    "facebookexternalhit", "facebookcatalog", "twitterbot", "slackbot", "slack-imgproxy", "whatsapp",
    "telegrambot", "discordbot", "linkedinbot", "embedly", "skypeuripreview", "pinterest", "redditbot",
    "curl", "wget", "python-requests", "python-urllib", "aiohttp", "httpx", "go-http-client", "okhttp",
    "java/", "libwww-perl", "scrapy", "node-fetch", "axios", "postmanruntime", "insomnia",
    "headlesschrome", "phantomjs", "puppeteer", "playwright", "selenium", "lighthouse",
    "pingdom", "uptimerobot", "statuscake", "monitor", "preview", "feedfetcher", "feedburner",
)
_BOT_RE = re.compile("|".join(re.escape(pattern) for pattern in BOT_PATTERNS), re.IGNORECASE)
_MAX_AGENT = 512


def is_bot(user_agent: str | None) -> bool:
    """True for an empty User-Agent or one that names a known crawler, unfurler or HTTP library."""
    agent = (user_agent or "").strip()
    return not agent or bool(_BOT_RE.search(agent[:_MAX_AGENT]))


def visitor_hash(*, secret: str, address: str, user_agent: str, now: datetime) -> str:
    """The visitor's pseudonym for the UTC day of `now`: 64 hex characters, never the raw address."""
    message = "\x1f".join((now.date().isoformat(), address or "", (user_agent or "")[:_MAX_AGENT]))
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
