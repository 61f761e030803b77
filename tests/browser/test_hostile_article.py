"""A hostile article rendered in a real browser: no dialog ever fires, no script runs."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HOSTILE_BODY = """
# 测评 <script>alert('h1')</script>

<img src=x onerror="alert('img')">
<svg onload="alert('svg')"><circle r=10 /></svg>
<iframe src="javascript:alert('iframe')"></iframe>
[点我](javascript:alert('link')) [再点](JaVaScRiPt:alert('case')) [编码](&#106;avascript:alert('entity'))
<a href="jav&#x09;ascript:alert('tab')">tab</a>
<div hx-get="/signout" hx-trigger="load">htmx</div>
<details open ontoggle="alert('toggle')">x</details>
<math><mtext><table><mglyph><style><img src=x onerror="alert('mxss')">
![img](javascript:alert('mdimg'))
<form action="/signout" method="post"><button>submit</button></form>
<object data="data:text/html,<script>alert('object')</script>"></object>

::: product hostile-product
caption: <img src=x onerror="alert('caption')"> 好用
pros: <script>alert('pros')</script>; 轻
cons: " onmouseover="alert('cons')
:::
"""


def test_no_dialog_fires_on_a_hostile_article(browser, live_server, make_user, make_product, make_article):
    make_product(slug="hostile-product", title="正常商品", price_fen=9900)
    author = make_user(handle="mallory", is_creator=True)
    article = make_article(author=author, title="<b onmouseover=alert(1)>标题</b>", body_md=HOSTILE_BODY)
    page = browser.new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server.url}/@mallory/{article.slug}")
    page.mouse.move(200, 200)
    page.mouse.move(400, 500)
    for link in page.locator(".article-body a").all():
        link.hover()
    page.wait_for_timeout(500)

    assert dialogs == []
    assert page.locator(".article-body script, .article-body iframe, .article-body svg, .article-body form").count() == 0
    assert page.locator("[onerror], [onload], [onmouseover], [ontoggle]").count() == 0
    assert page.locator(".product-block").count() == 1
