"""The index follows the database: every commit that changes what is searchable updates it at once,
rollbacks change nothing, `reindex` swaps a fresh index in while searches go on, and
`search-check` notices any difference."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from zhongcao.articles import services as articles
from zhongcao.accounts.services import update_profile
from zhongcao.catalog import services as catalog
from zhongcao.catalog.models import Product
from zhongcao.commerce import checkout
from zhongcao.db import atomic
from zhongcao.search import SearchQuery, sync
from zhongcao.search.documents import documents_for


@pytest.fixture
def backend(app):
    backend = app.extensions["zhongcao.search"]
    yield backend
    close = getattr(backend, "close", None)
    if close:
        close()


def urls(backend, text, **options) -> list[str]:
    return [hit.document.url for hit in backend.search(SearchQuery(text=text, **options)).hits]


def run_cli(app, *args):
    return app.test_cli_runner().invoke(args=["zhongcao", *args])


def test_publishing_an_article_makes_it_findable_and_a_draft_stays_out(backend, make_article, make_user):
    author = make_user(is_creator=True, handle="pingpong")

    draft = make_article(author=author, title="草稿里的蓝莓酱 blueberry jam", publish=False)
    published = make_article(author=author, title="自制山楂糕 hawthorn cake")

    assert urls(backend, "蓝莓酱") == []
    assert urls(backend, "山楂糕") == [f"/@pingpong/{published.slug}"]
    assert urls(backend, "hawthorn") == [f"/@pingpong/{published.slug}"]
    assert draft.id != published.id


def test_editing_a_title_replaces_the_old_words_with_the_new(backend, session, make_article):
    article = make_article(title="旧标题 桂花乌龙")

    articles.save_article(session, author_id=article.author_id, article_id=article.id,
                          title="新标题 茉莉花茶", body_md=article.body_md)

    assert len(urls(backend, "茉莉花茶")) == 1
    assert urls(backend, "桂花乌龙") == []


def test_unpublishing_and_hiding_take_an_article_out_of_the_index(backend, session, make_article, make_user):
    admin = make_user(is_admin=True)
    unpublished = make_article(title="撤回的文章 walnut")
    hidden = make_article(title="被隐藏的文章 walnut")
    assert len(urls(backend, "walnut")) == 2

    articles.unpublish_article(session, article_id=unpublished.id, author_id=unpublished.author_id)
    articles.hide_article(session, article_id=hidden.id, admin_id=admin.id)

    assert urls(backend, "walnut") == []
    assert urls(backend, "", kind="article") == []


def test_hiding_a_product_takes_it_out_and_showing_it_brings_it_back(backend, session, make_product):
    product = make_product(title="手冲咖啡壶 pour-over kettle")
    shop_owner = session.get(catalog.Shop, product.shop_id).owner_id
    catalog.update_product(session, actor_id=shop_owner, product_id=product.id, title="手冲咖啡壶 pour-over kettle")
    assert urls(backend, "咖啡壶") == [f"/products/{product.slug}"]

    catalog.set_product_hidden(session, product_id=product.id, actor_id=shop_owner, hidden=True)
    assert urls(backend, "咖啡壶") == []

    catalog.set_product_hidden(session, product_id=product.id, actor_id=shop_owner, hidden=False)
    assert urls(backend, "咖啡壶") == [f"/products/{product.slug}"]


def test_a_price_change_moves_the_product_across_a_price_filter(backend, session, make_product):
    product = make_product(title="陶瓷马克杯 mug", price_fen=5900)
    owner = session.get(catalog.Shop, product.shop_id).owner_id
    catalog.update_product(session, actor_id=owner, product_id=product.id, title=product.title)
    cheap = dict(kind="product", price_max_fen=10000)
    assert urls(backend, "马克杯", **cheap) == [f"/products/{product.slug}"]

    catalog.update_product(session, actor_id=owner, product_id=product.id, price_fen=15900)

    assert urls(backend, "马克杯", **cheap) == []
    assert urls(backend, "马克杯", kind="product", price_min_fen=15000, price_max_fen=16000) == [f"/products/{product.slug}"]


def test_a_bulk_stock_update_through_the_session_reaches_the_in_stock_filter(backend, session, make_product):
    product = make_product(title="限量帆布包 canvas", stock=2)
    owner = session.get(catalog.Shop, product.shop_id).owner_id
    catalog.update_product(session, actor_id=owner, product_id=product.id, title=product.title)
    in_stock = dict(kind="product", in_stock=True)
    assert urls(backend, "帆布包", **in_stock) == [f"/products/{product.slug}"]

    with atomic(session):  # the conditional UPDATE checkout uses to take stock
        session.exec(update(Product).where(Product.id == product.id, Product.stock >= 2).values(stock=Product.stock - 2))

    assert urls(backend, "帆布包", **in_stock) == []
    assert urls(backend, "帆布包") == [f"/products/{product.slug}"]


def test_a_sale_that_leaves_stock_writes_nothing_to_the_index_and_a_restock_reaches_it(backend, session, make_product):
    product = make_product(title="羊毛围巾 scarf", stock=3)
    owner = session.get(catalog.Shop, product.shop_id).owner_id
    catalog.update_product(session, actor_id=owner, product_id=product.id, title=product.title)
    in_stock = dict(kind="product", in_stock=True)
    before = _generation(backend)

    with atomic(session):  # one unit sold: still in stock, the document is unchanged
        session.exec(update(Product).where(Product.id == product.id, Product.stock >= 1).values(stock=Product.stock - 1))
    assert _generation(backend) == before
    with atomic(session):  # the last two sold: out of stock
        session.exec(update(Product).where(Product.id == product.id, Product.stock >= 2).values(stock=Product.stock - 2))
    assert urls(backend, "围巾", **in_stock) == []
    with atomic(session):  # a refund puts one back
        session.exec(update(Product).where(Product.id == product.id).values(stock=Product.stock + 1))

    assert urls(backend, "围巾", **in_stock) == [f"/products/{product.slug}"]


def test_an_order_for_the_last_units_takes_the_product_out_of_the_in_stock_results(
    backend, session, make_product, make_cart, make_address, make_user
):
    product = make_product(title="手工陶碗 bowl", stock=2)
    owner = session.get(catalog.Shop, product.shop_id).owner_id
    catalog.update_product(session, actor_id=owner, product_id=product.id, title=product.title)
    in_stock = dict(kind="product", in_stock=True)
    assert urls(backend, "陶碗", **in_stock) == [f"/products/{product.slug}"]
    buyer = make_user()
    cart = make_cart(buyer=buyer, lines=[(product, 2)])

    # Checkout takes stock with a prebuilt statement whose product id comes with the execution.
    checkout.place_order(session, buyer_id=buyer.id, cart_id=cart.id, address_id=make_address(buyer).id,
                         idempotency_key="last-bowls")

    assert urls(backend, "陶碗", **in_stock) == []
    assert urls(backend, "陶碗") == [f"/products/{product.slug}"]


def test_a_change_written_in_a_savepoint_reaches_the_index_when_the_transaction_commits(backend, session, make_product):
    product = make_product(title="竹编果盘 basket")
    owner = session.get(catalog.Shop, product.shop_id).owner_id
    catalog.update_product(session, actor_id=owner, product_id=product.id, title=product.title)

    with atomic(session):
        product.title = "藤编收纳篮 hamper"
        session.add(product)
        with session.begin_nested():  # releasing it is not the transaction's commit
            session.flush()

    assert urls(backend, "收纳篮") == [f"/products/{product.slug}"]
    assert urls(backend, "果盘") == []


def _generation(backend) -> int | None:
    """The Whoosh index generation (bumped by every write); None for backends without one."""
    directory = getattr(backend, "live_directory", lambda: None)()
    if directory is None:
        return None
    from whoosh import index

    return index.open_dir(str(directory)).latest_generation()


def test_a_creator_profile_change_reaches_their_creator_document_and_articles(backend, session, make_article, make_user):
    author = make_user(is_creator=True, handle="teacup", display_name="茶杯")
    make_article(author=author, title="一篇普通的文章 plain")

    update_profile(session, user_id=author.id, display_name="山茶花 Camellia", bio="写茶也写花")

    assert urls(backend, "山茶花") == ["/@teacup"]
    article_hits = backend.search(SearchQuery(text="plain")).hits
    assert [hit.document.subtitle for hit in article_hits] == ["山茶花 Camellia @teacup"]


def test_a_rolled_back_change_leaves_the_index_alone(backend, session, make_article):
    article = make_article(title="栗子蛋糕 chestnut")

    with pytest.raises(RuntimeError):
        with atomic(session):
            article.title = "回滚的标题 rollback"
            session.add(article)
            session.flush()
            raise RuntimeError("the write fails after the flush")

    assert urls(backend, "rollback") == []
    assert len(urls(backend, "chestnut")) == 1


def test_hits_carry_escaped_highlights_of_traditional_and_simplified_forms(backend, make_article):
    make_article(title="<b>電商</b> 种草笔记", body_md="这篇讲电商直播。")

    hit = backend.search(SearchQuery(text="电商")).hits[0]

    assert str(hit.title_html) == "&lt;b&gt;<mark>電商</mark>&lt;/b&gt; 种草笔记"
    assert "<mark>电商</mark>" in str(hit.snippet_html)


def test_search_check_passes_on_a_fresh_index_and_fails_after_tampering(app, backend, session, make_article):
    article = make_article(title="检查用的文章 audit")
    assert run_cli(app, "search-check").exit_code == 0

    backend.delete([("article", article.id)])
    missing = run_cli(app, "search-check")
    [document] = documents_for(session, [("article", article.id)])
    backend.upsert([document.__class__(**{**document.__dict__, "version": "tampered"})])
    stale = run_cli(app, "search-check")

    assert missing.exit_code == 1 and "missing: 1" in missing.output
    assert stale.exit_code == 1 and "stale: 1" in stale.output
    assert run_cli(app, "reindex").exit_code == 0
    assert run_cli(app, "search-check").exit_code == 0


def test_reindex_while_searching_in_another_thread_gives_no_errors(app, backend, make_article, make_user):
    author = make_user(is_creator=True)
    for number in range(5):
        make_article(author=author, title=f"重建中的文章 rebuild {number}")
    engine = app.extensions["zhongcao.engine"]
    errors: list[BaseException] = []
    totals: list[int] = []
    stop = threading.Event()

    def search_until_stopped() -> None:
        try:
            for _ in range(2000):
                if stop.is_set():
                    break
                totals.append(backend.search(SearchQuery(text="rebuild")).total)
        except BaseException as error:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(error)
        finally:
            close = getattr(backend, "close", None)
            if close:
                close()

    searcher = threading.Thread(target=search_until_stopped)
    searcher.start()
    try:
        for _ in range(3):
            assert sync.reindex(engine, backend) == 6  # five articles and their creator
    finally:
        stop.set()
        searcher.join(timeout=30)

    assert errors == []
    assert totals and set(totals) == {5}
    assert sync.check(engine, backend).ok


def test_a_write_made_during_a_rebuild_survives_the_swap(app, backend, session, make_article):
    if backend.name != "whoosh":
        pytest.skip("the rebuild journal belongs to the Whoosh backend")
    first = make_article(title="第一篇 first")
    engine = app.extensions["zhongcao.engine"]
    late = make_article(title="重建时写入 latecomer", publish=False)

    def documents():
        with sync.new_session(engine) as reading:
            snapshot = list(sync.search_documents.all_documents(reading))
        articles.publish_article(session, article_id=late.id, author_id=late.author_id)  # committed mid-rebuild
        yield from snapshot

    backend.rebuild(documents())

    assert len(urls(backend, "latecomer")) == 1
    assert len(urls(backend, "first")) == 1
    assert sync.check(engine, backend).ok
    assert first.id != late.id


def test_an_index_failure_never_fails_the_commit(app, backend, session, make_article, caplog):
    engine = app.extensions["zhongcao.engine"]
    sync.register(engine, _BrokenBackend())
    try:
        article = make_article(title="索引坏了也能发布 resilient")
    finally:
        sync.register(engine, backend)

    assert article.status == "published"
    assert "search index update failed" in caplog.text
    report = sync.check(engine, backend)
    assert ("article", article.id) in report.missing


class _BrokenBackend:
    """An edge we don't own failing: a search service that is down."""

    name = "broken"

    def upsert(self, documents):
        raise OSError("disk full")

    def delete(self, keys):
        raise OSError("disk full")
