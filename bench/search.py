"""`make bench-search`: build time, index size and query latency of both search backends.

Builds the synthetic corpus of bench/corpus.py (100,000 products and 20,000 articles at
BENCH_SCALE=1), then for each backend, made by `search.factory.make_backend` as the site makes it:
rebuilds the index from the corpus, measures its size, runs the fixed query mix once to warm up
and once timed, and prints p50/p95/p99 per query class and overall against the goals.

Whoosh builds into a temporary directory. PostgreSQL builds into a fresh database
`zhongcao_bench_<random>` on BENCH_PG_URL (default: the local test server), created through its
`test` database and always dropped afterwards.

Environment: BENCH_SCALE (default 1), BENCH_BACKENDS (default "whoosh,postgres"),
BENCH_BUILD_PROCS (Whoosh build processes, default: every core), BENCH_PG_URL.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import BenchQuery, corpus, query_mix  # noqa: E402

from zhongcao.db import make_engine  # noqa: E402
from zhongcao.migrations import upgrade  # noqa: E402
from zhongcao.search import Document  # noqa: E402
from zhongcao.search.analysis import warm_up  # noqa: E402
from zhongcao.search.factory import make_backend  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1") or 1)
BACKENDS = [name.strip() for name in os.environ.get("BENCH_BACKENDS", "whoosh,postgres").split(",") if name.strip()]
BUILD_PROCS = int(os.environ.get("BENCH_BUILD_PROCS") or os.cpu_count() or 1)
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLASSES = ("zh_word", "two_words", "english", "price_filtered", "prefix", "typo")
# name → (p95 goal in ms, build goal in s or None)
GOALS = {"whoosh": (50.0, 120.0), "postgres": (20.0, None)}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def run_queries(backend, queries: list[BenchQuery]) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Latency in ms per class, and how many queries of each class found something."""
    timings: dict[str, list[float]] = {name: [] for name in CLASSES}
    found: dict[str, int] = {name: 0 for name in CLASSES}
    for item in queries:
        started = time.perf_counter()
        if item.prefix is not None:
            answer = backend.suggest(item.prefix)
            useful = bool(answer)
        else:
            results = backend.search(item.query)
            useful = bool(results.hits or results.did_you_mean)
        timings[item.cls].append((time.perf_counter() - started) * 1000)
        found[item.cls] += useful
    return timings, found


def directory_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def bench_backend(name: str, make: Callable, size: Callable, documents: list[Document], queries: list[BenchQuery]) -> dict:
    backend = make()
    started = time.perf_counter()
    backend.rebuild(documents)
    build_seconds = time.perf_counter() - started
    size_bytes = size(backend)
    run_queries(backend, queries)  # warm-up: caches, dictionaries, connections
    timings, found = run_queries(backend, queries)
    if hasattr(backend, "close"):
        backend.close()
    return {"name": name, "build": build_seconds, "size": size_bytes, "timings": timings, "found": found}


def bench_whoosh(documents: list[Document], queries: list[BenchQuery]) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="zhongcao-bench-whoosh-"))
    try:
        config = {"SEARCH_BACKEND": "whoosh", "SEARCH_DIR": str(scratch / "search"), "DATA_DIR": str(scratch),
                  "SEARCH_BUILD_PROCS": BUILD_PROCS}
        return bench_backend(
            "whoosh", lambda: make_backend(config, None), lambda backend: directory_bytes(scratch / "search"),
            documents, queries,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bench_postgres(documents: list[Document], queries: list[BenchQuery]) -> dict:
    admin_url = make_url(PG_URL)
    name = f"zhongcao_bench_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = None
    try:
        engine = make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
        upgrade(engine)
        return bench_backend(
            "postgres", lambda: make_backend({"SEARCH_BACKEND": "postgres"}, engine), lambda backend: backend.size_bytes(),
            documents, queries,
        )
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def report(result: dict, scale: float) -> bool:
    name = result["name"]
    p95_goal, build_goal = GOALS[name]
    timings = result["timings"]
    everything = [value for values in timings.values() for value in values]
    print(f"\n== {name} ==")
    print(f"build: {result['build']:.1f} s    size: {result['size'] / 1_000_000:.1f} MB")
    print(f"{'class':<16}{'n':>5}{'found':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    rows = [(cls, timings[cls]) for cls in CLASSES if timings[cls]] + [("overall", everything)]
    for cls, values in rows:
        found = result["found"].get(cls, sum(result["found"].values()))
        print(f"{cls:<16}{len(values):>5}{found:>7}{percentile(values, 0.50):>9.1f}{percentile(values, 0.95):>9.1f}"
              f"{percentile(values, 0.99):>9.1f}{max(values):>9.1f}")
    p95 = percentile(everything, 0.95)
    passed = p95 <= p95_goal
    print(f"goal p95 <= {p95_goal:.0f} ms: {p95:.1f} ms {'PASS' if passed else 'FAIL'}")
    if build_goal is not None:
        build_ok = result["build"] <= build_goal
        print(f"goal build <= {build_goal:.0f} s: {result['build']:.1f} s {'PASS' if build_ok else 'FAIL'}")
        passed = passed and build_ok
    if scale != 1:
        print(f"(BENCH_SCALE={scale}: the goals are set for the full corpus, scale 1)")
    return passed


def main() -> int:
    started = time.perf_counter()
    documents = corpus(SCALE)
    queries = query_mix()
    kinds = {kind: sum(1 for document in documents if document.kind == kind) for kind in ("product", "article")}
    print(f"corpus: {kinds['product']:,} products, {kinds['article']:,} articles "
          f"(scale {SCALE}), generated in {time.perf_counter() - started:.1f} s; {len(queries)} queries")
    warm_up()
    results = []
    for name in BACKENDS:
        if name == "whoosh":
            print(f"building whoosh ({BUILD_PROCS} build processes)…", flush=True)
            results.append(bench_whoosh(documents, queries))
        elif name == "postgres":
            print("building postgres…", flush=True)
            results.append(bench_postgres(documents, queries))
        else:
            print(f"unknown backend {name!r} in BENCH_BACKENDS", file=sys.stderr)
            return 2
    verdicts = [report(result, SCALE) for result in results]
    print(f"\nall goals {'PASS' if all(verdicts) else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
