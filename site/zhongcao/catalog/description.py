"""Product descriptions: merchants' Markdown rendered once at save time, then cleaned to a strict allowlist.

Descriptions are plain selling copy, so the allowlist is far smaller than an article's: paragraphs,
lists, emphasis and nofollow links. Raw HTML is never interpreted (it shows as text), and nh3 is
the second wall behind that.
"""
from __future__ import annotations

import markdown
import nh3

TAGS = {"p", "ul", "ol", "li", "strong", "em", "br", "a"}
ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_LENGTH = 20_000


def render_description(source: str) -> str:
    """Markdown to safe HTML: no raw HTML, no images, links get rel="nofollow noopener"."""
    if not source.strip():
        return ""
    renderer = markdown.Markdown(extensions=["sane_lists", "nl2br"], output_format="html")
    # Without these two, Python-Markdown copies raw HTML through; with them it is escaped as text.
    renderer.preprocessors.deregister("html_block")
    renderer.inlinePatterns.deregister("html")
    html = renderer.convert(source)
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
    ).strip()
