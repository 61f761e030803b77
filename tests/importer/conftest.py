"""A small content tree in tmp_path, in the demo content format, and a way to import it."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zhongcao.importer import ImportReport, import_path

DEMO_PASSWORD = "zhongcao-demo-2026"

BASE_TREE = {
    "demo.yaml": f'demo_password: "{DEMO_PASSWORD}"\n',
    "categories.yaml": """
        - slug: apparel
          name_zh: 服饰
          name_en: Apparel
        - slug: home
          name_zh: 家居
          name_en: Home
    """,
    "accounts/mianmian.md": """
        ---
        handle: mianmian
        email: mianmian@example.com
        display_name: 棉棉衣橱
        roles: [merchant]
        shop:
          slug: mianmian-wardrobe
          name: 棉棉衣橱 Mianmian Wardrobe
          description: 通勤基础款。
        ---
        做了十年面料的店主。
    """,
    "accounts/amber.md": """
        ---
        handle: amber
        email: amber@example.com
        display_name: Amber 通勤穿搭
        roles: [creator]
        ---
        上海通勤五年，只写自己真穿过的。
    """,
    "accounts/reader.md": """
        ---
        handle: reader
        email: reader@example.com
        display_name: 路人读者
        roles: []
        ---
    """,
    "products/light-down.md": """
        ---
        slug: light-down
        shop: mianmian-wardrobe
        title: 轻薄羽绒服 90% 白鸭绒
        brand: 棉棉
        category: apparel
        price_fen: 59900
        list_price_fen: 79900
        stock: 20
        commission_bp: 1500
        image_color: "#6a8caf"
        ---
        通勤够用的轻薄羽绒服。

        - 充绒量 90 g
        - 可收纳进小袋
    """,
    "products/canvas-tote.md": """
        ---
        slug: canvas-tote
        shop: mianmian-wardrobe
        title: 帆布托特包
        category: home
        price_fen: 9900
        stock: 3
        commission_bp: 100
        ---
        装得下 13 寸电脑。
    """,
    "articles/amber/winter-commute.md": """
        ---
        title: 冬天通勤穿什么
        slug: winter-commute
        kind: guide
        summary: 两件单品过冬
        tags: [通勤, 羽绒服]
        lang: zh-CN
        published_at: 2026-10-12
        views: 1200
        ---
        ## 我的搭配

        ::: product light-down
        caption: 通勤穿了两个冬天。
        rating: 4.5
        pros: 轻; 能塞进小收纳袋
        cons: 零下五度以下不够暖
        :::

        ::: grid 通勤配件
        product: canvas-tote
        caption: 装得下电脑
        product: light-down
        :::
    """,
    "articles/amber/tote-note.md": """
        ---
        title: 托特包小记
        slug: tote-note
        kind: note
        tags: [包]
        ---
        还在写的草稿。

        ::: product canvas-tote
        :::
    """,
}


class ContentTree:
    """The base tree written to a folder; tests edit, add or break single files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name, text in BASE_TREE.items():
            self.write(name, text)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def replace(self, name: str, old: str, new: str) -> None:
        text = self.read(name)
        assert old in text, f"{old!r} is not in {name}"
        (self.root / name).write_text(text.replace(old, new), encoding="utf-8")

    def remove(self, name: str) -> None:
        (self.root / name).unlink()


@pytest.fixture
def content_tree(tmp_path) -> ContentTree:
    return ContentTree(tmp_path / "content")


@pytest.fixture
def run_import(app, session):
    """Import a content folder into the test database, with the app's data dir."""

    def run(folder: Path) -> ImportReport:
        return import_path(session, folder, data_dir=Path(app.config["DATA_DIR"]))

    return run


@pytest.fixture
def writes(engine):
    """Collect the INSERT, UPDATE and DELETE statements the engine executes while the test runs."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)
