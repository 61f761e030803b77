"""The share dialog's QR code: inline SVG that the Content-Security-Policy accepts."""
from __future__ import annotations

import re

from zhongcao.attribution.qr import qr_svg


def test_the_qr_code_is_inline_svg_without_styles_or_scripts():
    svg = qr_svg("https://zhongcao.example/s/AbCd_-12", title='二维码 <b>"QR"</b>')

    assert svg.startswith('<svg role="img" viewBox="0 0 ') and svg.endswith("</svg>")
    assert 'class="share-qr"' in svg and re.search(r'<path [^>]*d="M', svg)
    assert not re.search(r"style|script|\son\w+=|href", svg, re.IGNORECASE)
    assert "<title>二维码 &lt;b&gt;" in svg  # the title is escaped, never markup


def test_longer_links_make_bigger_codes():
    short = qr_svg("https://z.example/s/AbCd1234", title="QR")
    long = qr_svg("https://zhongcao.example/s/AbCd1234?" + "x" * 120, title="QR")

    def size(svg: str) -> int:
        return int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))

    assert size(long) > size(short)
