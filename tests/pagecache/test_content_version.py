"""Any committed change to public content bumps the content version; reads and rollbacks do not."""
from __future__ import annotations

import pytest

from zhongcao.db import atomic
from zhongcao.pagecache.services import PageCache, current_version


def test_changing_a_product_bumps_the_version(session, make_product):
    product = make_product(price_fen=19900)
    before = current_version(session)

    with atomic(session):
        product.price_fen = 18900
        session.add(product)

    assert current_version(session) == before + 1


def test_reading_and_unchanged_writes_leave_the_version_alone(session, make_product):
    product = make_product(price_fen=19900)
    before = current_version(session)

    with atomic(session):
        product.price_fen = 19900  # same value: not a change
        session.add(product)

    assert current_version(session) == before


def test_a_rolled_back_change_does_not_bump(session, make_product):
    product = make_product(stock=3)
    before = current_version(session)

    with pytest.raises(RuntimeError):
        with atomic(session):
            product.stock = 2
            session.add(product)
            session.flush()
            raise RuntimeError("abandon")

    assert current_version(session) == before


def test_page_cache_evicts_the_least_recently_used():
    cache = PageCache(max_entries=2)
    cache.put("/a", 1, b"a")
    cache.put("/b", 1, b"b")
    cache.get("/a", 1)

    cache.put("/c", 1, b"c")

    assert cache.get("/a", 1) == b"a"
    assert cache.get("/b", 1) is None
    assert cache.get("/c", 1) == b"c"
    assert cache.get("/a", 2) is None
