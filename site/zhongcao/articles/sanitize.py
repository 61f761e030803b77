"""The allowlist that authors' rendered Markdown passes through before it is stored (nh3 / ammonia).

Nothing from authors keeps a class, style, id, data-*, hx-* or on* attribute. Links keep only
http, https, mailto or site-relative targets and carry rel="nofollow ugc noopener". Images keep only
our own /media/ files: a remote image is either fetched and rewritten at save time or removed.
"""
from __future__ import annotations

import re

import nh3

TAGS = frozenset({
    "p", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "strong", "em", "b", "i", "del", "s",
    "code", "pre", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "sup", "sub",
})
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"
LOCAL_IMAGE = re.compile(r"^/media/[0-9a-f]{32}\.(?:jpg|png|webp)$")
_ALIGN = frozenset({"left", "center", "right"})
_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)
# Browsers ignore tabs, newlines and other controls inside URLs ("jav\tascript:", "/\t/evil").
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def is_safe_href(value: str) -> bool:
    """True for http(s)/mailto URLs, site-relative paths ("/x", not "//host" or "/\\host") and "#anchors"."""
    compact = _IGNORED_BY_BROWSERS.sub("", value)
    if "\\" in compact:
        return False
    if compact.startswith("/"):
        return not compact.startswith("//")
    return compact.startswith("#") or bool(_SCHEME.match(compact))


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value.strip() if is_safe_href(value) else None
    if tag == "img" and attribute == "src":
        return value if LOCAL_IMAGE.match(value) else None
    if attribute == "align":
        return value if value in _ALIGN else None
    if attribute == "start":
        return value if value.isdigit() and len(value) <= 6 else None
    return value


def clean(html: str) -> str:
    """Sanitise rendered author HTML against the allowlist."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
    )
