"""The Markdown pipeline on its own: product block syntax, problems with line numbers, placeholders."""
from __future__ import annotations

import re
import time

from zhongcao.articles.markdown import blocks_from_json, blocks_to_json, check_blocks, render

BRIEF_EXAMPLES = """\
# 冬天通勤

::: product uniqlo-ultralight-down
caption: 通勤穿了两个冬天，轻到忘记它在身上。
rating: 4.5
pros: 轻; 能塞进小收纳袋
cons: 零下五度以下不够暖
:::

::: grid 通勤三件套
product: muji-canvas-tote
caption: 装得下 13 寸电脑
product: thermos-jnl-500

product: anker-nano-charger
:::

::: compare 三款轻薄羽绒服
product: uniqlo-ultralight-down
rating: 4.5
pros: 轻
cons: 不够暖
product: bosideng-light-down
评分: 4
优点: 暖；便宜
:::
"""


def test_the_three_block_kinds_parse_into_specs():
    rendered = render(BRIEF_EXAMPLES)

    assert rendered.problems == []
    single, grid, compare = rendered.blocks
    assert (single.kind, single.title, [i.slug for i in single.items]) == ("product", "", ["uniqlo-ultralight-down"])
    assert single.items[0].rating == "4.5"
    assert single.items[0].pros == ["轻", "能塞进小收纳袋"]
    assert single.items[0].cons == ["零下五度以下不够暖"]
    assert (grid.kind, grid.title) == ("grid", "通勤三件套")
    assert [i.slug for i in grid.items] == ["muji-canvas-tote", "thermos-jnl-500", "anker-nano-charger"]
    assert grid.items[0].caption == "装得下 13 寸电脑"
    assert compare.title == "三款轻薄羽绒服"
    assert compare.items[1].rating == "4" and compare.items[1].pros == ["暖", "便宜"]


def test_each_block_becomes_one_marker_in_sanitised_html():
    rendered = render(BRIEF_EXAMPLES)

    assert re.findall(r'<div data-zc-block="(\d+)"></div>', rendered.html) == ["0", "1", "2"]
    assert "<h2>冬天通勤</h2>" in rendered.html  # the page owns h1
    assert "caption" not in rendered.html


def test_blocks_survive_the_json_round_trip():
    blocks = render(BRIEF_EXAMPLES).blocks

    assert blocks_from_json(blocks_to_json(blocks)) == blocks


def test_full_width_colon_and_chinese_keys_are_accepted():
    body = "::: product\n商品：thermos-jnl-500\n点评：保温一整天\n评分：5\n缺点：有点重\n:::\n"

    parsed = check_blocks(body)

    assert parsed.problems == []
    item = parsed.blocks[0].items[0]
    assert (item.slug, item.caption, item.rating, item.cons) == ("thermos-jnl-500", "保温一整天", "5", ["有点重"])


def test_malformed_blocks_are_reported_with_line_numbers_in_both_languages():
    body = "\n".join([
        "intro",                      # 1
        "::: grid 问题",              # 2
        "caption: before any product",  # 3
        "product: good-one",          # 4
        "colour: red",                # 5
        "rating: 4.3",                # 6
        "rating: six",                # 7
        "just words",                 # 8
        ":::",                        # 9
        "::: carousel",               # 10
        "product: x",                 # 11
        ":::",                        # 12
        ":::",                        # 13
        "::: product",                # 14
        ":::",                        # 15
        "::: product unclosed-one",   # 16
        "caption: never closed",      # 17
    ])

    problems = check_blocks(body).problems

    assert any(p.startswith("第 3 行：") and "Line 3: start each item" in p for p in problems)
    assert any(p.startswith("第 5 行：") and "unknown key “colour”" in p for p in problems)
    assert any(p.startswith("第 6 行：") and "steps of 0.5" in p for p in problems)
    assert any(p.startswith("第 7 行：") and "rating “six”" in p for p in problems)
    assert any(p.startswith("第 8 行：") and "key: value" in p for p in problems)
    assert any(p.startswith("第 10 行：") and "unknown block kind “carousel”" in p for p in problems)
    assert any(p.startswith("第 13 行：") and "stray" in p for p in problems)
    assert any(p.startswith("第 14 行：") and "names no product" in p for p in problems)
    assert any(p.startswith("第 16 行：") and "never closed" in p for p in problems)


def test_too_many_items_and_blocks_are_problems():
    grid = "::: grid\n" + "".join(f"product: p-{n}\n" for n in range(13)) + ":::\n"
    compare = "::: compare\n" + "".join(f"product: c-{n}\n" for n in range(7)) + ":::\n"
    many = "".join(f"::: product p-{n}\n:::\n\n" for n in range(41))

    grid_parsed, compare_parsed, many_parsed = check_blocks(grid), check_blocks(compare), check_blocks(many)

    assert len(grid_parsed.blocks[0].items) == 12
    assert any("Line 14: a grid block can hold at most 12" in p for p in grid_parsed.problems)
    assert len(compare_parsed.blocks[0].items) == 6
    assert any("at most 6" in p for p in compare_parsed.problems)
    assert len(many_parsed.blocks) == 40
    assert any("at most 40 blocks" in p for p in many_parsed.problems)


def test_caption_over_200_characters_is_a_problem():
    body = "::: product p-1\ncaption: " + "好" * 201 + "\n:::\n"

    parsed = check_blocks(body)

    assert any("Line 2: captions can have at most 200" in p for p in parsed.problems)


def test_block_syntax_inside_fenced_code_is_left_alone():
    body = "```\n::: product not-a-block\n:::\n```\n\n::: product real-one\n:::\n"

    rendered = render(body)

    assert [b.items[0].slug for b in rendered.blocks] == ["real-one"]
    assert rendered.problems == []
    assert "::: product not-a-block" in rendered.html


def test_raw_html_is_shown_as_text_not_markup():
    rendered = render("Hello <b>bold</b> <div data-zc-block=\"0\"></div>\n\n<div>block</div>\n")

    assert "<b>" not in rendered.html and "&lt;b&gt;bold&lt;/b&gt;" in rendered.html
    assert "&lt;div&gt;block&lt;/div&gt;" in rendered.html
    assert 'data-zc-block' not in rendered.html.replace("&lt;div data-zc-block", "")


def test_a_token_typed_by_the_author_is_not_a_block():
    # The placeholder carries a per-render random nonce, so a guessed token stays text.
    rendered = render("ZCBLOCK0000000000000000N0\n\n::: product p-1\n:::\n")

    assert rendered.html.count("data-zc-block") == 1
    assert "ZCBLOCK0000000000000000N0" in rendered.html


def test_images_other_than_our_uploads_are_dropped_with_a_problem():
    local = "/media/" + "a" * 32 + ".png"
    rendered = render(f"![ok]({local}) ![remote](https://example.com/x.jpg) ![rel](images/x.png)")

    assert f'src="{local}"' in rendered.html
    assert "example.com" not in rendered.html and "images/x.png" not in rendered.html
    assert any("https://example.com/x.jpg" in p for p in rendered.problems)
    assert any("images/x.png" in p for p in rendered.problems)


def test_remote_images_are_rewritten_when_the_fetcher_stores_them():
    local = "/media/" + "b" * 32 + ".jpg"
    fetched = []

    def fetch(url):
        fetched.append(url)
        return local

    rendered = render("![a](https://example.com/a.jpg)\n\n![again](https://example.com/a.jpg)", fetch_image=fetch)

    assert rendered.html.count(f'src="{local}"') == 2
    assert rendered.image_rewrites == {"https://example.com/a.jpg": local}
    assert rendered.problems == []


def test_pathological_input_renders_quickly_with_a_problem_instead_of_hanging_or_failing():
    # Python-Markdown alone needs minutes for these at full size, or overflows the stack.
    brackets = "[" * 20_000
    rules = "---\n" * 20_000
    nested = "- " * 20_000 + "x"
    started = time.monotonic()

    rendered = [render(body) for body in (brackets, rules, nested)]

    assert time.monotonic() - started < 10
    assert any("too many square brackets" in p for p in rendered[0].problems)
    assert rendered[1].html.count("<h2>---</h2>") == 10_000  # setext headings: a rule under a rule
    assert any("nested too deeply" in p for p in rendered[2].problems)
    assert "<pre>- - - " in rendered[2].html


def test_ordinary_brackets_and_long_lists_are_untouched():
    links = " ".join(f"[{n}](/products/p-{n})" for n in range(100))
    long_list = "\n".join(f"- item {n}" for n in range(150))

    rendered = render(links + "\n\n" + long_list)

    assert rendered.problems == []
    assert rendered.html.count("<a ") == 100
    assert rendered.html.count("<ul>") == 1 and rendered.html.count("<li>") == 150
