"""QR codes for share links, as inline SVG that the page's Content-Security-Policy accepts.

segno writes only presentation attributes (fill, stroke, transform) and no style attribute or
script, and escapes the title; the URL is ours (site origin + /s/ + a url-safe code). The check
below keeps it that way should a future segno release change its output.
"""
from __future__ import annotations

import re

import segno

_FORBIDDEN = re.compile(r"<script|<style|\sstyle=|\son\w+=|javascript:|<foreignObject", re.IGNORECASE)


def qr_svg(url: str, *, title: str) -> str:
    """An inline <svg> (no width/height: it scales with CSS) encoding `url`, with `title` for screen readers."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        scale=4, border=2, dark="#1f2328", light="#ffffff", svgclass="share-qr", lineclass=None,
        title=title, omitsize=True,
    )
    if not svg.startswith("<svg ") or _FORBIDDEN.search(svg):
        raise ValueError("segno produced SVG the Content-Security-Policy would not allow")
    return svg.replace("<svg ", '<svg role="img" ', 1)
