"""Create the bench creator and a published article with 12 product blocks (run with the bench env)."""
from __future__ import annotations

from sqlmodel import select

from zhongcao import create_app
from zhongcao.accounts import services as accounts
from zhongcao.articles.services import publish_article, save_article
from zhongcao.catalog.models import Product
from zhongcao.db import new_session

PARAGRAPH = (
    "这一段是测评正文：用了三个月，通勤、出差、周末爬山都带着它。优点是轻、做工扎实、细节考虑周到；"
    "缺点是价格不算便宜，颜色选择也少。下面是我对每件单品的具体感受和打分。"
)


def main() -> None:
    app = create_app()
    with app.app_context(), new_session(app.extensions["zhongcao.engine"]) as session:
        writer = accounts.find_user_by_handle(session, "benchwriter") or accounts.sign_up(
            session, email="benchwriter@demo.zhongcao.example", handle="benchwriter", password="zhongcao-demo-2026"
        )
        accounts.set_roles(session, user_id=writer.id, is_creator=True, is_merchant=False, is_admin=False)
        products = session.exec(select(Product).where(Product.status == "active").order_by(Product.id).limit(12)).all()
        if len(products) < 12:
            raise SystemExit("the demo content needs at least 12 active products")
        sections = []
        for number, product in enumerate(products, start=1):
            sections.append(
                f"## 第 {number} 件\n\n{PARAGRAPH}\n\n::: product {product.slug}\n"
                f"caption: 第 {number} 件好物的一句话点评\nrating: 4.5\npros: 轻; 耐用\ncons: 略贵\n:::\n"
            )
        article = save_article(
            session,
            author_id=writer.id,
            title="十二件好物年度测评",
            slug="twelve-blocks",
            kind="review",
            summary="一年用下来，这十二件值得买。",
            tags=["年度好物", "测评"],
            body_md="\n".join(sections),
        )
        publish_article(session, article_id=article.id, author_id=writer.id)
        print(f"bench article /@benchwriter/{article.slug} with {len(products)} product blocks")


if __name__ == "__main__":
    main()
