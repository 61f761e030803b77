"""Authors' Markdown to stored HTML: product blocks become inert placeholders, raw HTML is escaped,
images are checked, and the result is sanitised before our own block markers go in.

Block syntax (docs/writing.md): a line `::: product|grid|compare [title]` opens a block, a line
`:::` closes it, and inside, `key: value` lines describe items, each starting with `product: <slug>`.
"""
from __future__ import annotations

import html as html_module
import json
import re
import secrets
import xml.etree.ElementTree as etree
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation

import markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from zhongcao.articles import sanitize

KIND_LIMITS = {"product": 1, "grid": 12, "compare": 6}
MAX_BLOCKS = 40
MAX_CAPTION = 200
MAX_LIST_ITEMS = 10
MAX_LIST_ITEM_LENGTH = 100
MAX_TITLE = 80
MAX_BRACKETS_PER_PARAGRAPH = 300
MAX_LINES_WITHOUT_BLANK = 200
# List and quote markers opening one line ("- - - x" nests a list per dash). Python-Markdown recurses
# once per level: before 3.11 that overflowed the stack, since then it stops nesting at some depth
# of its own. Either way such a line is not writing: the body is shown as plain text, with a problem.
MAX_NESTING = 100
_LEADING_MARKERS = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]*)+")
_MARKER = re.compile(r"[-*+>]|\d{1,9}[.)]")
KEY_ALIASES = {
    "product": "product", "商品": "product",
    "caption": "caption", "点评": "caption",
    "rating": "rating", "评分": "rating",
    "pros": "pros", "优点": "pros",
    "cons": "cons", "缺点": "cons",
}
_OPEN = re.compile(r"^:::[ \t]*(\S*)[ \t]*(.*?)\s*$")
_CLOSE = re.compile(r"^:::\s*$")
_KEY_VALUE = re.compile(r"^\s*([^:：\s]+)\s*[:：]\s*(.*?)\s*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_LIST_SEPARATOR = re.compile(r"[;；]")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")

# An image may only come from our own uploads; anything else is fetched at save time or dropped.
ImageFetcher = Callable[[str], "str | None"]


def problem_text(zh: str, en: str, line: int | None = None) -> str:
    """An author-facing problem, zh-CN first, with the line number when there is one."""
    if line is None:
        return f"{zh} · {en}"
    return f"第 {line} 行：{zh} · Line {line}: {en}"


@dataclass
class BlockItem:
    slug: str
    line: int
    caption: str = ""
    rating: str | None = None  # "4.5": half steps from 0 to 5, kept as text (no float rounding)
    pros: list[str] = field(default_factory=list)
    cons: list[str] = field(default_factory=list)


@dataclass
class BlockSpec:
    kind: str
    line: int
    title: str = ""
    items: list[BlockItem] = field(default_factory=list)


def blocks_to_json(blocks: list[BlockSpec]) -> str:
    return json.dumps([asdict(block) for block in blocks], ensure_ascii=False)


def blocks_from_json(text: str) -> list[BlockSpec]:
    """The block specs stored on an article; anything unreadable counts as no blocks."""
    try:
        raw = json.loads(text or "[]")
    except ValueError:
        return []
    blocks = []
    for entry in raw if isinstance(raw, list) else []:
        items = [BlockItem(**item) for item in entry.get("items", [])]
        blocks.append(BlockSpec(kind=entry["kind"], line=entry.get("line", 0), title=entry.get("title", ""), items=items))
    return blocks


@dataclass
class ParsedBlocks:
    lines: list[str]  # the document with each block replaced by its token paragraph
    blocks: list[BlockSpec]
    problems: list[str]


def parse_blocks(lines: list[str], token: Callable[[int], str] = lambda n: "") -> ParsedBlocks:
    """Find product blocks in Markdown lines (outside fenced code) and check their syntax.

    Each well-formed block is replaced by a paragraph holding `token(n)`; malformed parts are
    reported as problems and left out. A block with problems keeps its valid items, so previews
    still show them; any problem stops publishing.
    """
    out: list[str] = []
    blocks: list[BlockSpec] = []
    problems: list[str] = []
    fence: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        number = index + 1
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            index += 1
            continue
        if match := _FENCE.match(line):
            fence = match.group(1)
            out.append(line)
            index += 1
            continue
        if not line.startswith(":::"):
            out.append(line)
            index += 1
            continue
        if _CLOSE.match(line):
            problems.append(problem_text("多余的 “:::”，没有对应的开头", "a stray “:::” with no block to close", number))
            out.append("")
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _CLOSE.match(lines[end]):
            end += 1
        if end == len(lines):
            problems.append(problem_text("商品块没有用 “:::” 结尾", "the block is never closed with “:::”", number))
        block = _parse_block(lines[index:end], number, problems)
        index = end + 1
        out.append("")  # a removed block still ends the paragraph, list or table before it
        if block is None:
            continue
        if len(blocks) >= MAX_BLOCKS:
            problems.append(problem_text(f"一篇文章最多 {MAX_BLOCKS} 个商品块", f"an article can have at most {MAX_BLOCKS} blocks", number))
            continue
        if block.items:
            out.extend([token(len(blocks)), ""])
            blocks.append(block)
    return ParsedBlocks(out, blocks, problems)


def _parse_block(lines: list[str], first: int, problems: list[str]) -> BlockSpec | None:
    kind, rest = _OPEN.match(lines[0]).groups()
    kind = kind.lower()
    if kind not in KIND_LIMITS:
        problems.append(problem_text(
            f"未知的块类型 “{kind}”（可用 product、grid、compare）",
            f"unknown block kind “{kind}” (use product, grid or compare)", first))
        return None
    block = BlockSpec(kind=kind, line=first)
    if kind == "product" and _SLUG.match(rest):
        block.items.append(BlockItem(slug=rest, line=first))
    else:
        block.title = rest[:MAX_TITLE]
    limit = KIND_LIMITS[kind]
    too_many = False
    problems_before = len(problems)
    for offset, line in enumerate(lines[1:], start=1):
        number = first + offset
        if not line.strip():
            continue
        match = _KEY_VALUE.match(line)
        key = KEY_ALIASES.get(match.group(1).lower()) if match else None
        if match is None:
            problems.append(problem_text("无法识别这一行，应为 “字段: 内容”", "expected a “key: value” line", number))
            continue
        if key is None:
            problems.append(problem_text(
                f"未知字段 “{match.group(1)}”（可用 product、caption、rating、pros、cons）",
                f"unknown key “{match.group(1)}” (use product, caption, rating, pros, cons)", number))
            continue
        value = match.group(2)
        if key == "product":
            if len(block.items) >= limit:
                if not too_many:
                    problems.append(problem_text(
                        f"{kind} 块最多 {limit} 个商品", f"a {kind} block can hold at most {limit} products", number))
                too_many = True
                continue
            if not _SLUG.match(value):
                problems.append(problem_text(f"商品链接名 “{value}” 不正确", f"“{value}” is not a product slug", number))
                block.items.append(BlockItem(slug="", line=number))  # keeps the following keys with it
                continue
            block.items.append(BlockItem(slug=value, line=number))
            continue
        if too_many:
            continue
        if not block.items:
            problems.append(problem_text("请先写 “product: 商品链接名”", "start each item with “product: <slug>”", number))
            continue
        _set_field(block.items[-1], key, value, number, problems)
    block.items = [item for item in block.items if item.slug]
    if not block.items and len(problems) == problems_before:
        problems.append(problem_text("商品块里没有商品", "the block names no product", first))
    return block


def _set_field(item: BlockItem, key: str, value: str, number: int, problems: list[str]) -> None:
    if key == "caption":
        if len(value) > MAX_CAPTION:
            problems.append(problem_text(f"点评最多 {MAX_CAPTION} 个字", f"captions can have at most {MAX_CAPTION} characters", number))
        item.caption = value[:MAX_CAPTION]
    elif key == "rating":
        rating = _parse_rating(value)
        if rating is None:
            problems.append(problem_text(
                f"评分 “{value}” 须为 0 到 5，以 0.5 为单位", f"rating “{value}” must be 0 to 5 in steps of 0.5", number))
        item.rating = rating
    else:
        entries = [entry.strip() for entry in _LIST_SEPARATOR.split(value) if entry.strip()]
        if len(entries) > MAX_LIST_ITEMS or any(len(entry) > MAX_LIST_ITEM_LENGTH for entry in entries):
            problems.append(problem_text(
                f"最多 {MAX_LIST_ITEMS} 条，每条最多 {MAX_LIST_ITEM_LENGTH} 个字",
                f"at most {MAX_LIST_ITEMS} entries of at most {MAX_LIST_ITEM_LENGTH} characters", number))
        setattr(item, key, [entry[:MAX_LIST_ITEM_LENGTH] for entry in entries[:MAX_LIST_ITEMS]])


def _parse_rating(value: str) -> str | None:
    try:
        rating = Decimal(value)
    except InvalidOperation:
        return None
    if not rating.is_finite() or not 0 <= rating <= 5 or (rating * 2) % 1 != 0:
        return None
    return str(rating.quantize(Decimal("0.1"))).removesuffix(".0")


class _BlockPreprocessor(Preprocessor):
    def __init__(self, md: markdown.Markdown, state: _RenderState) -> None:
        super().__init__(md)
        self.state = state

    def run(self, lines: list[str]) -> list[str]:
        parsed = parse_blocks(lines, self.state.token)
        self.state.blocks = parsed.blocks
        self.state.problems.extend(parsed.problems)
        return parsed.lines


class _GuardPreprocessor(Preprocessor):
    """Keep pathological input from taking minutes to render; ordinary writing is untouched.

    Python-Markdown scans ahead from every "[" for its match, and re-splits a run of lines without a
    blank line once per heading or rule in it: both cost time quadratic in the paragraph's size. So a
    paragraph with hundreds of brackets gets them escaped (shown as text), and a run of hundreds of
    lines without a blank line is cut into shorter runs.
    """

    def __init__(self, md: markdown.Markdown, state: _RenderState) -> None:
        super().__init__(md)
        self.state = state

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        paragraph: list[str] = []
        for line in [*lines, ""]:
            if line.strip():
                paragraph.append(line)
                if len(paragraph) >= MAX_LINES_WITHOUT_BLANK:
                    out.extend(self._guarded(paragraph))
                    out.append("")
                    paragraph = []
                continue
            out.extend(self._guarded(paragraph))
            out.append(line)
            paragraph = []
        return out[:-1]

    def _guarded(self, paragraph: list[str]) -> list[str]:
        if sum(text.count("[") for text in paragraph) <= MAX_BRACKETS_PER_PARAGRAPH:
            return paragraph
        self.state.problems.append(problem_text(
            "一段里的方括号太多，已按文字显示", "too many square brackets in one paragraph: shown as text"))
        return [text.replace("\\", "\\\\").replace("[", "\\[") for text in paragraph]


LOCAL_IMAGE = re.compile(r"^/media/[0-9a-f]{32}\.(?:jpg|png|webp)$")


class _ImageTreeprocessor(Treeprocessor):
    """Demote headings under the page's own h1 and keep only images stored on this site."""

    def __init__(self, md: markdown.Markdown, state: _RenderState) -> None:
        super().__init__(md)
        self.state = state

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.tag == "h1":
                element.tag = "h2"
            elif element.tag in ("h5", "h6"):
                element.tag = "h4"
            elif element.tag == "img":
                self._check_image(element)

    def _check_image(self, element: etree.Element) -> None:
        source = (element.get("src") or "").strip()
        if LOCAL_IMAGE.match(source):
            return
        stored = None
        if source.lower().startswith(("http://", "https://")):
            if self.state.fetch_image is not None:
                stored = self.state.fetch_image(source)
            if stored is None:
                self.state.problems.append(problem_text(
                    f"外部图片未能保存到本站，不会显示：{source[:80]}",
                    f"this external image could not be stored here and is not shown: {source[:80]}"))
        else:
            self.state.problems.append(problem_text(
                f"只能使用本站上传的图片或 http(s) 图片：{source[:80]}",
                f"only images uploaded here or http(s) images can be used: {source[:80]}"))
        if stored is not None:
            self.state.image_rewrites[source] = stored
            element.set("src", stored)
            return
        # The image goes; its alt text stays as plain text (the sanitiser drops the span itself).
        alt = element.get("alt") or ""
        element.attrib.clear()
        element.tag = "span"
        element.text = alt


@dataclass
class _RenderState:
    nonce: str
    fetch_image: ImageFetcher | None
    blocks: list[BlockSpec] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    image_rewrites: dict[str, str] = field(default_factory=dict)

    def token(self, number: int) -> str:
        return f"ZCBLOCK{self.nonce}N{number}"


class ProductBlockExtension(Extension):
    """Python-Markdown extension: product blocks become token paragraphs, raw HTML is escaped,
    headings are demoted and images are checked."""

    def __init__(self, state: _RenderState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Authors' raw HTML is shown as text, never passed through; the sanitiser is the last guard.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # Before fenced code (25) so that line numbers are the author's own.
        md.preprocessors.register(_BlockPreprocessor(md, self.state), "zhongcao_blocks", 28)
        # After fenced code (25) has set code blocks aside, whose brackets are only text anyway.
        md.preprocessors.register(_GuardPreprocessor(md, self.state), "zhongcao_guard", 24)
        md.treeprocessors.register(_ImageTreeprocessor(md, self.state), "zhongcao_images", 15)


@dataclass
class Rendered:
    html: str  # sanitised, with <div data-zc-block="N"></div> markers where the blocks go
    blocks: list[BlockSpec]
    problems: list[str]
    image_rewrites: dict[str, str]  # remote URL -> /media/… for images fetched during this render


def render(body_md: str, *, fetch_image: ImageFetcher | None = None) -> Rendered:
    """Render an article's Markdown to sanitised HTML with block markers, its blocks and its problems.

    `fetch_image(url)` stores a remote image and returns its /media/ URL (or None); without it,
    remote images are dropped and reported.
    """
    state = _RenderState(nonce=secrets.token_hex(8), fetch_image=fetch_image)
    converter = markdown.Markdown(
        extensions=["tables", "fenced_code", "sane_lists", ProductBlockExtension(state)],
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    source = (body_md or "").replace("\r\n", "\n").replace("\r", "\n")
    try:
        converted = None if _nests_too_deeply(source) else converter.convert(source)
    except RecursionError:  # nesting our check does not count (Python-Markdown before 3.11 overflowed the stack)
        converted = None
    if converted is None:
        state.blocks = []
        state.problems.append(problem_text("内容嵌套太深，已按纯文本显示", "nested too deeply: shown as plain text"))
        converted = f"<pre>{html_module.escape(source)}</pre>"
    html = sanitize.clean(converted)
    token = re.compile(rf"<p>\s*ZCBLOCK{state.nonce}N(\d+)\s*</p>")
    html = token.sub(lambda match: f'<div data-zc-block="{int(match.group(1))}"></div>', html)
    return Rendered(html=html, blocks=state.blocks, problems=state.problems, image_rewrites=state.image_rewrites)


def _nests_too_deeply(source: str) -> bool:
    for line in source.split("\n"):
        leading = _LEADING_MARKERS.match(line)
        # Each marker takes at least one character: a shorter run cannot hold too many (and needs no count).
        if leading and len(leading.group(0)) > MAX_NESTING and len(_MARKER.findall(leading.group(0))) > MAX_NESTING:
            return True
    return False


def check_blocks(body_md: str) -> ParsedBlocks:
    """Only the block syntax of a body: its blocks and problems, without rendering anything."""
    return parse_blocks((body_md or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"))
