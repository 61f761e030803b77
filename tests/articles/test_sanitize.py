"""Hostile Markdown and HTML through the real pipeline: save_article -> body_html, then fill_blocks."""
from __future__ import annotations

import html as html_module
import re
from html.parser import HTMLParser

from zhongcao.articles.blocks import fill_blocks
from zhongcao.articles.sanitize import is_safe_href
from zhongcao.articles.services import save_article

MEDIA = "/media/" + "0123456789abcdef" * 2 + ".png"

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "> <svg/onload=alert(1)>",
    "*<img src=x onerror=alert(1)>*",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](java&#x0A;script:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](javascript://%0aalert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "[x][evil]\n\n[evil]: javascript:alert(1)",
    "[evil]\n\n[evil]: data:text/html,<script>alert(1)</script> \"t\"",
    "![img][pic]\n\n[pic]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<a href=\" jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<p style=\"background:expression(alert(1))\">x</p>",
    "<div style=\"width: expression(alert(1));\">css</div>",
    "<form action=\"https://evil.example\"><input name=x><button>go</button></form>",
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<div hx-get=\"/admin\" hx-trigger=\"load\">x</div>",
    "<div data-hx-post=\"/signout\" data-hx-trigger=\"load\">x</div>",
    "<div data-zc-block=\"0\"></div>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<details open ontoggle=alert(1)>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    f"![x]({MEDIA} \"t\\\" onerror=\\\"alert(1)\")",
    "[x](https://ok.example \"title\\\" onmouseover=\\\"alert(1)\")",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "<https://ok.example/\" onmouseover=\"alert(1)>",
    "<evil@example.com?subject=\"><script>alert(1)</script>>",
    "::: product p-1\ncaption: <img src=x onerror=alert(1)>\npros: <script>alert(1)</script>; <svg onload=alert(1)>\n"
    "cons: \" onmouseover=\"alert(1); javascript:alert(1)\n:::",
    "::: grid <iframe src=javascript:alert(1)>\nproduct: p-1\ncaption: <a href=\"javascript:alert(1)\">x</a>\n:::",
    "::: compare </table><script>alert(1)</script>\nproduct: p-1\nrating: 4\npros: <style>*{}</style>\n"
    "product: no-such-product\ncons: <form><base href=//evil>\n:::",
    "::: product p-1\n点评：<div hx-post=\"/x\" hx-trigger=\"load\" data-hx-get=\"/y\">\n:::",
    "![remote](https://evil.example/x.png)",
    "[x](//evil.example/path) [y](/\\evil.example) [z](/\t/evil.example)",
]

FORBIDDEN_TAGS = {
    "script", "svg", "iframe", "object", "embed", "style", "form", "base", "meta", "link", "math",
    "input", "button", "textarea", "frame", "frameset", "template", "noscript", "details",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "background", "poster", "data"}
# What author content may carry after sanitising; our block marker is the one data-* attribute.
AUTHOR_ATTRIBUTES = {
    "a": {"href", "title", "rel"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"},
    "ol": {"start"}, "div": {"data-zc-block"},
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def _inertness_failures(html: str, *, author_only: bool) -> list[str]:
    failures = []
    lowered = html.lower()
    for needle in ("<script", "<svg", "<iframe", "<object", "<style", "<form", "<base", "<meta", "<embed", "<math"):
        if needle in lowered:
            failures.append(f"{needle} survived")
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        if tag in FORBIDDEN_TAGS:
            failures.append(f"<{tag}> survived")
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-") or name.startswith("data-hx") or name == "style":
                failures.append(f"{tag}[{name}] survived")
            if author_only and name not in AUTHOR_ATTRIBUTES.get(tag, set()):
                failures.append(f"{tag}[{name}] is not on the allowlist")
            if name in URL_ATTRIBUTES and value is not None:
                compact = re.sub(r"[\x00-\x20\x7f]", "", html_module.unescape(value)).lower()
                if compact.startswith(("javascript:", "vbscript:", "data:")):
                    failures.append(f"{tag}[{name}]={value!r}")
                if name == "href" and not is_safe_href(value):
                    failures.append(f"unsafe link {value!r}")
                if name == "src" and value != MEDIA:
                    failures.append(f"foreign image {value!r}")
    return failures


def test_hostile_inputs_come_out_inert_in_stored_html_and_filled_cards(session, make_user, make_product):
    author = make_user(is_creator=True)
    make_product(slug="p-1", title="<script>alert('title')</script>", price_fen=9900, list_price_fen=12900)
    assert len(HOSTILE) >= 40
    failures = []

    for number, body in enumerate(HOSTILE):
        article = save_article(session, author_id=author.id, title=f"hostile {number}", body_md=body)
        stored = article.body_html
        filled = str(fill_blocks(session, article))
        failures += [f"#{number} stored: {f}" for f in _inertness_failures(stored, author_only=True)]
        failures += [f"#{number} filled: {f}" for f in _inertness_failures(filled, author_only=False)]
        if "p-1" in body:
            assert "product-card" in filled or "compare-table" in filled, body

    assert failures == []


def test_safe_links_keep_working_and_carry_nofollow(session, make_user):
    author = make_user(is_creator=True)

    article = save_article(session, author_id=author.id, title="links",
                           body_md="[a](https://shop.example/x?y=1) [b](/products/p-1) [c](mailto:hi@example.com) [d](#top)")

    html = article.body_html
    assert 'href="https://shop.example/x?y=1" rel="nofollow ugc noopener"' in html
    assert 'href="/products/p-1"' in html and 'href="mailto:hi@example.com"' in html and 'href="#top"' in html


def test_protocol_relative_and_backslash_links_are_not_site_relative():
    assert is_safe_href("/products/x")
    assert not is_safe_href("//evil.example")
    assert not is_safe_href("/\t/evil.example")
    assert not is_safe_href("/\\evil.example")
    assert not is_safe_href(" javascript:alert(1)")
    assert not is_safe_href("relative/path")
