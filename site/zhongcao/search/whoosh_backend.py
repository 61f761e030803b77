"""The Whoosh search backend: one index on a disk every worker shares.

Layout under `root` (DATA_DIR/search): `current` is a symlink to the live `index-<time>-<random>`
directory; `write.lock` serialises writers across processes (fcntl) and threads; while a rebuild
runs, `rebuild.journal` records every write made to the live index so the rebuilt one can replay
them before it is swapped in, and no update made during a rebuild is lost.

Queries are built from analysed terms (never parsed from the reader's text): every word of the
query must match in some field (any of its jieba pieces will do), with title above tags above body;
when that finds nothing, any word may match. Filters are document-number sets cached per searcher.
"""
from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from markupsafe import Markup, escape
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh import sorting
from whoosh import columns
from whoosh.fields import BOOLEAN, COLUMN, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.writing import CLEAR

from zhongcao.search import (
    KINDS,
    MAX_PAGE,
    SUGGESTION_LIMIT,
    Document,
    DocumentKey,
    Hit,
    Results,
    SearchQuery,
)
from zhongcao.search.analysis import analyzer, fold, mark, query_groups, terms, word_parts

FIELD_BOOSTS = {"title": 4.0, "tags": 2.0, "body": 1.0}
EXCERPT_CHARS = 1000  # stored for snippets; the whole body is indexed but not stored
SNIPPET_CHARS = 120
MAX_GROUPS = 12  # words of a query that count; the rest of a very long query is ignored
MAX_EXPANSIONS = 64  # vocabulary terms a suggestion prefix may expand to
LOCK_TIMEOUT = 30.0
FILTER_CACHE_SIZE = 2048  # document sets (filters and terms) kept per searcher
KEEP_OLD_INDEXES = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_log = logging.getLogger(__name__)


class IndexBusy(RuntimeError):
    """The write lock could not be had in time (another writer held it throughout)."""


class RebuildRunning(RuntimeError):
    """Another process is rebuilding this index right now."""


def make_schema() -> Schema:
    text = analyzer()
    return Schema(
        key=ID(unique=True, stored=True),
        kind=ID(stored=True),
        title=TEXT(analyzer=text, stored=True, phrase=False),
        tags=TEXT(analyzer=text, stored=True, phrase=False),
        body=TEXT(analyzer=text, phrase=False),
        spell=TEXT(analyzer=analyzer(stems=False), phrase=False),  # unstemmed title and tags: suggestions
        excerpt=STORED,
        url=STORED,
        subtitle=STORED,
        image_url=STORED,
        version=STORED,
        category=ID(stored=True),
        # Fen fit in 32 bits up to ¥21 million; a shift step of 8 indexes 4 terms per price, not 16.
        price_fen=NUMERIC(int, bits=32, shift_step=8, stored=True, sortable=True),
        in_stock=BOOLEAN(stored=True),
        # Only sorted on, never searched: columns cost nothing at indexing time, unlike numeric terms.
        published=COLUMN(columns.NumericColumn("q", default=0)),
        popularity=COLUMN(columns.NumericColumn("q", default=0)),
        published_value=STORED,
        popularity_value=STORED,
    )


def _key_text(key: DocumentKey) -> str:
    return f"{key[0]}:{int(key[1])}"


def _parse_key(text: str) -> DocumentKey:
    kind, _, number = text.partition(":")
    return kind, int(number)


def _micros(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // _MICROSECOND



def _fields(document: Document) -> dict:
    fields = {
        "key": _key_text(document.key),
        "kind": document.kind,
        "title": document.title,
        "tags": document.tags,
        "body": document.body,
        "spell": f"{document.title} {document.tags}",
        "excerpt": document.body[:EXCERPT_CHARS],
        "url": document.url,
        "subtitle": document.subtitle,
        "image_url": document.image_url,
        "version": document.version,
        "published": _micros(document.published_at),
        "popularity": int(document.popularity),
        "published_value": _micros(document.published_at),
        "popularity_value": int(document.popularity),
    }
    if document.category:
        fields["category"] = document.category
    if document.price_fen is not None:
        fields["price_fen"] = int(document.price_fen)
    if document.in_stock is not None:
        fields["in_stock"] = bool(document.in_stock)
    return fields


def _document_from_stored(stored: dict) -> Document:
    kind, item_id = _parse_key(stored["key"])
    published = stored.get("published_value") or 0
    return Document(
        kind=kind,
        id=item_id,
        title=stored.get("title", ""),
        tags=stored.get("tags", ""),
        body=stored.get("excerpt", ""),
        url=stored.get("url", ""),
        version=stored.get("version", ""),
        published_at=_EPOCH + published * _MICROSECOND if published else None,
        popularity=stored.get("popularity_value", 0),
        category=stored.get("category"),
        price_fen=stored.get("price_fen"),
        in_stock=stored.get("in_stock"),
        image_url=stored.get("image_url"),
        subtitle=stored.get("subtitle", ""),
    )


def _document_to_json(document: Document) -> dict:
    data = dataclasses.asdict(document)
    data["published_at"] = document.published_at.isoformat() if document.published_at else None
    return data


def _document_from_json(data: dict) -> Document:
    data = dict(data)
    data["published_at"] = datetime.fromisoformat(data["published_at"]) if data.get("published_at") else None
    return Document(**data)


class _WriteLock:
    """One writer at a time: a process-wide RLock (threads) plus an fcntl lock on a file (processes).

    Reentrant within a thread, so `upsert` inside `sync`'s locked read-and-write does not deadlock.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def hold(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise IndexBusy(f"search index writer busy for {self.timeout:.0f}s")
        try:
            if self._depth == 0:
                self._fd = self._take_file_lock(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None
        finally:
            self._thread_lock.release()

    def _take_file_lock(self, deadline: float) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                os.close(fd)
                raise IndexBusy(f"search index writer busy for {self.timeout:.0f}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class _Reader:
    """One thread's searcher on the live index, reopened when the index or the symlink changes."""

    def __init__(self) -> None:
        self.target: str | None = None
        self.searcher = None
        self.filters: OrderedDict[tuple, frozenset[int]] = OrderedDict()

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
        self.searcher = None
        self.target = None
        self.filters.clear()


class WhooshBackend:
    """The SearchBackend on a Whoosh index under `root`; see the module docstring for the layout."""

    name = "whoosh"

    def __init__(self, root: str | Path, *, build_procs: int = 1, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.root = Path(root)
        self.build_procs = max(1, int(build_procs))
        self.schema = make_schema()
        self._lock = _WriteLock(self.root / "write.lock", lock_timeout)
        self._local = threading.local()

    # Paths and the live index -------------------------------------------------------------

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    @property
    def journal_path(self) -> Path:
        return self.root / "rebuild.journal"

    def _live_target(self) -> str | None:
        try:
            return os.readlink(self.current_link)
        except FileNotFoundError:
            return None

    def live_directory(self) -> Path | None:
        """The directory of the index being served, or None before the first write."""
        target = self._live_target()
        return self.root / target if target else None

    def _create_index_dir(self) -> Path:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        path = self.root / f"index-{stamp}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        whoosh_index.create_in(str(path), self.schema)
        return path

    def _swap_in(self, path: Path) -> None:
        temporary = self.root / f".current-{secrets.token_hex(4)}"
        os.symlink(path.name, temporary)
        os.replace(temporary, self.current_link)

    def _open_for_writing(self):
        target = self._live_target()
        if target is None:
            path = self._create_index_dir()
            self._swap_in(path)
            target = path.name
        return whoosh_index.open_dir(str(self.root / target))

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the one writer's lock (reentrant); raises IndexBusy after the lock timeout."""
        with self._lock.hold():
            yield

    # Reading ------------------------------------------------------------------------------

    def _reader(self) -> _Reader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = _Reader()
        target = self._live_target()
        if target != reader.target:
            reader.close()
            if target is not None:
                try:
                    reader.searcher = whoosh_index.open_dir(str(self.root / target)).searcher()
                    reader.target = target
                except (FileNotFoundError, whoosh_index.EmptyIndexError):
                    reader.close()
        elif reader.searcher is not None and not reader.searcher.up_to_date():
            # Not searcher.refresh(): it reuses segment readers and keeps their old deletions.
            index = reader.searcher._ix
            reader.searcher.close()
            reader.searcher = index.searcher()
            reader.filters.clear()
        return reader

    def close(self) -> None:
        """Close this thread's searcher (tests and the CLI; workers keep theirs open)."""
        reader = getattr(self._local, "reader", None)
        if reader is not None:
            reader.close()

    def _filter(self, reader: _Reader, name: tuple, make_query) -> frozenset[int]:
        cached = reader.filters.get(name)
        if cached is None:
            cached = frozenset(reader.searcher.docs_for_query(make_query()))
            reader.filters[name] = cached
            while len(reader.filters) > FILTER_CACHE_SIZE:
                reader.filters.popitem(last=False)
        else:
            reader.filters.move_to_end(name)
        return cached

    def _allowed(self, reader: _Reader, query: SearchQuery) -> frozenset[int] | None:
        """The product filters (category, price, stock) as one document set; None when there are none."""
        sets = []
        if query.category:
            sets.append(self._filter(reader, ("category", query.category), lambda: wq.Term("category", query.category)))
        if query.price_min_fen is not None or query.price_max_fen is not None:
            low, high = query.price_min_fen, query.price_max_fen
            sets.append(self._filter(reader, ("price", low, high), lambda: wq.NumericRange("price_fen", low, high)))
        if query.in_stock:
            sets.append(self._filter(reader, ("in_stock",), lambda: wq.Term("in_stock", True)))
        if not sets:
            return None
        allowed = sets[0]
        for other in sets[1:]:
            allowed = allowed & other
        return allowed

    def _kind_set(self, reader: _Reader, kind: str) -> frozenset[int]:
        return self._filter(reader, ("kind", kind), lambda: wq.Term("kind", kind))

    def search(self, query: SearchQuery) -> Results:
        """Run a reader's query; any text is searched literally, and an odd one finds nothing."""
        page = max(1, min(MAX_PAGE, int(query.page)))
        per_page = max(1, min(100, int(query.per_page)))
        try:
            reader = self._reader()
        except Exception:  # a half-written or vanished index must not turn into an error page
            _log.exception("search index could not be opened")
            return Results(query=query, hits=[], total=0)
        if reader.searcher is None:
            return Results(query=query, hits=[], total=0)
        groups = query_groups(query.text)[:MAX_GROUPS]
        highlight = {term for group in groups for term in group}
        known, all_known = _known_groups(reader.searcher, groups)
        did_you_mean = None if all_known else self._did_you_mean(reader, query.text)
        if not query.text.strip():
            plans = [(wq.Every(), None)]
        elif not known:
            return Results(query=query, hits=[], total=0, counts={kind: 0 for kind in KINDS}, did_you_mean=did_you_mean)
        else:
            # Words the index has never seen (typos, noise) are left out rather than emptying the result.
            group_sets = [self._group_docs(reader, group) for group in known]
            every_word = wq.And([_group_query(group) for group in known]) if len(known) > 1 else _group_query(known[0])
            plans = [(every_word, frozenset.intersection(*sorted(group_sets, key=len)))]
            if len(known) > 1:
                plans.append((wq.Or([_group_query(group) for group in known]), frozenset.union(*group_sets)))
        allowed = self._allowed(reader, query)
        for text_query, matched in plans:
            if matched is None:
                matched = self._filter(reader, ("every",), wq.Every)
            if allowed is not None:
                matched &= allowed
            counts = {kind: len(matched & self._kind_set(reader, kind)) for kind in KINDS}
            total = counts[query.kind] if query.kind in counts else len(matched)
            if total:
                hits = self._page_hits(reader, text_query, query, matched, page, per_page, highlight)
                return Results(query=query, hits=hits, total=total, counts=counts, did_you_mean=did_you_mean)
        return Results(query=query, hits=[], total=0, counts={kind: 0 for kind in KINDS}, did_you_mean=did_you_mean)

    def _group_docs(self, reader: _Reader, group: list[str]) -> frozenset[int]:
        """Documents with any term of the group in any field: unions of cached per-term sets (fast in C,
        unlike walking Whoosh's union matchers in Python)."""
        docs: set[int] = set()
        for term in group:
            for field in FIELD_BOOSTS:
                docs |= self._filter(reader, ("term", field, term), lambda f=field, t=term: wq.Term(f, t))
        return frozenset(docs)

    def _page_hits(self, reader: _Reader, text_query, query: SearchQuery, matched: frozenset[int], page: int,
                   per_page: int, highlight: set[str]) -> list[Hit]:
        allowed = matched if query.kind not in KINDS else matched & self._kind_set(reader, query.kind)
        searcher = reader.searcher
        options: dict = {"filter": set(allowed), "limit": page * per_page}
        if query.sort == "newest":
            options["sortedby"] = sorting.FieldFacet("published", reverse=True)
        elif query.sort == "price_asc":
            options["sortedby"] = sorting.FieldFacet("price_fen")
        elif query.sort == "price_desc":
            options["sortedby"] = sorting.FieldFacet("price_fen", reverse=True)
        elif query.sort == "popular" or isinstance(text_query, wq.Every):
            options["sortedby"] = [sorting.FieldFacet("popularity", reverse=True), sorting.FieldFacet("published", reverse=True)]
        results = searcher.search(text_query, **options)
        hits = []
        for hit in results[(page - 1) * per_page: page * per_page]:
            document = _document_from_stored(hit.fields())
            hits.append(Hit(
                document=document,
                score=float(hit.score) if isinstance(hit.score, (int, float)) else 0.0,
                title_html=mark(document.title, highlight),
                snippet_html=snippet(document.body, highlight),
            ))
        return hits

    def _did_you_mean(self, reader: _Reader, text: str) -> str | None:
        """The query with each unknown English word replaced by the closest word in the index."""
        searcher = reader.searcher
        folded = fold(text)
        corrector = searcher.corrector("spell")
        changed = False
        pieces: list[str] = []
        last = 0
        for term in terms(text, stems=False):
            word = folded[term.start:term.end]
            if not (word.isascii() and word.isalpha() and len(word) >= 3) or term.text != word:
                continue
            if searcher.doc_frequency("spell", word) or searcher.doc_frequency("body", term.text):
                continue
            suggestions = corrector.suggest(word, limit=1, maxdist=2, prefix=1)
            if suggestions and suggestions[0] != word:
                pieces.append(folded[last:term.start])
                pieces.append(suggestions[0])
                last = term.end
                changed = True
        if not changed:
            return None
        pieces.append(folded[last:])
        return " ".join("".join(pieces).split())

    def suggest(self, prefix: str, *, limit: int = SUGGESTION_LIMIT) -> list[str]:
        """Titles completing what the reader typed: its last word as a prefix, earlier words whole."""
        limit = max(0, min(limit, 20))
        folded = fold(prefix or "")[:100]
        spelled = terms(folded, stems=False)
        if not spelled or not limit:
            return []
        try:
            reader = self._reader()
        except Exception:
            _log.exception("search index could not be opened")
            return []
        if reader.searcher is None:
            return []
        searcher = reader.searcher
        last_position = spelled[-1].position
        last_word = max((term for term in spelled if term.position == last_position), key=lambda term: term.end - term.start)
        stem = folded[last_word.start:last_word.end] if folded[last_word.end:].strip() == "" else last_word.text
        expansions = []
        for term in searcher.reader().expand_prefix("spell", stem):
            expansions.append(term.decode("utf-8") if isinstance(term, bytes) else term)
            if len(expansions) >= MAX_EXPANSIONS:
                break
        if not expansions:
            return []
        earlier: dict[int, list[str]] = {}
        for term in spelled:
            if term.position != last_position:
                earlier.setdefault(term.position, []).append(term.text)
        parts = [wq.Or([wq.Term("spell", word) for word in words]) for words in earlier.values()]
        parts.append(wq.Or([wq.Term("spell", word) for word in expansions]))
        results = searcher.search(wq.And(parts) if len(parts) > 1 else parts[0], limit=limit * 3)
        titles: list[str] = []
        for hit in results:
            title = hit["title"]
            if title not in titles:
                titles.append(title)
            if len(titles) >= limit:
                break
        return titles

    def indexed_versions(self) -> dict[DocumentKey, str]:
        """Every indexed document's key and version (reads every stored document: for search-check)."""
        reader = self._reader()
        if reader.searcher is None:
            return {}
        return {
            _parse_key(stored["key"]): stored.get("version", "")
            for stored in reader.searcher.reader().all_stored_fields()
        }

    # Writing ------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[Document]) -> None:
        """Add or replace these documents in one commit, under the writer's lock."""
        if documents:
            self._write(list(documents), [])

    def delete(self, keys: Sequence[DocumentKey]) -> None:
        """Remove these documents (unknown keys are ignored), under the writer's lock."""
        if keys:
            self._write([], list(keys))

    def _write(self, upserts: list[Document], deletes: list[DocumentKey]) -> None:
        with self.write_lock():
            if not upserts and not self._any_indexed(deletes):
                return
            ix = self._open_for_writing()
            _apply(ix, upserts, deletes)
            self._journal(upserts, deletes)

    def _any_indexed(self, keys: list[DocumentKey]) -> bool:
        target = self._live_target()
        if target is None:
            return False
        with whoosh_index.open_dir(str(self.root / target)).searcher() as searcher:
            return any(searcher.document_number(key=_key_text(key)) is not None for key in keys)

    def _journal(self, upserts: list[Document], deletes: list[DocumentKey]) -> None:
        """While a rebuild runs (its journal exists and its process lives), record this write for it."""
        header = _journal_header(self.journal_path)
        if header is None:
            return
        if not _process_alive(header.get("pid")):
            self.journal_path.unlink(missing_ok=True)
            return
        with open(self.journal_path, "a", encoding="utf-8") as journal:
            journal.write(json.dumps({"upsert": [_document_to_json(doc) for doc in upserts],
                                      "delete": [list(key) for key in deletes]}, ensure_ascii=False) + "\n")

    def rebuild(self, documents: Iterable[Document]) -> None:
        """Build a fresh index in a new directory, replay writes made meanwhile, swap it in atomically.

        Searches and writes go on against the old index while this runs. Raises RebuildRunning when
        another process is already rebuilding.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with self.write_lock():
            header = _journal_header(self.journal_path)
            if header is not None and _process_alive(header.get("pid")) and header.get("pid") != os.getpid():
                raise RebuildRunning(f"process {header['pid']} is rebuilding the search index")
            self.journal_path.write_text(json.dumps({"pid": os.getpid(), "started": time.time()}) + "\n", encoding="utf-8")
        path = None
        try:
            path = self._create_index_dir()
            ix = whoosh_index.open_dir(str(path))
            writer = ix.writer(procs=self.build_procs, limitmb=256, multisegment=self.build_procs > 1) \
                if self.build_procs > 1 else ix.writer(limitmb=256)
            try:
                for document in documents:
                    writer.add_document(**_fields(document))
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=CLEAR)
            with self.write_lock():
                replay = _read_journal(self.journal_path)
                for entry in replay:
                    _apply(ix, [_document_from_json(doc) for doc in entry["upsert"]],
                           [tuple(key) for key in entry["delete"]])
                self._swap_in(path)
                self.journal_path.unlink(missing_ok=True)
            path = None
        finally:
            if path is not None:
                with self.write_lock():
                    self.journal_path.unlink(missing_ok=True)
                shutil.rmtree(path, ignore_errors=True)
        self._remove_old_indexes()

    def _remove_old_indexes(self) -> None:
        """Drop index directories older than the live one and the one before it (a reader that
        opened the previous one a moment ago may still be reading it)."""
        live = self._live_target()
        others = sorted((entry for entry in self.root.glob("index-*") if entry.name != live), key=lambda p: p.stat().st_mtime)
        for stale in others[:-KEEP_OLD_INDEXES] if KEEP_OLD_INDEXES else others:
            shutil.rmtree(stale, ignore_errors=True)


def _apply(ix, upserts: list[Document], deletes: list[DocumentKey]) -> None:
    writer = ix.writer()
    try:
        for key in deletes:
            writer.delete_by_term("key", _key_text(key))
        for document in upserts:
            writer.update_document(**_fields(document))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def _journal_header(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as journal:
            return json.loads(journal.readline() or "{}")
    except FileNotFoundError:
        return None
    except ValueError:
        return {}


def _read_journal(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _process_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _known_groups(searcher, groups: list[list[str]]) -> tuple[list[list[str]], bool]:
    """The query's groups the index has words for, and whether it knew them all. An unknown mixed
    word (iphone15) is tried as its parts (iphon, 15), each of which must then be known."""
    known = []
    all_known = True
    for group in groups:
        if _in_vocabulary(searcher, group):
            known.append(group)
            continue
        parts = word_parts(group[0]) if len(group) == 1 else []
        if parts and all(_in_vocabulary(searcher, [part]) for part in parts):
            known.extend([part] for part in parts)
        else:
            all_known = False
    return known, all_known


def _in_vocabulary(searcher, group: list[str]) -> bool:
    return any(searcher.doc_frequency(field, term) for term in group for field in FIELD_BOOSTS)


def _group_query(group: list[str]):
    """One word of the query: any of its pieces, in any field, title weighing most."""
    return wq.Or([
        wq.Term(field, term, boost=boost)
        for term in group
        for field, boost in FIELD_BOOSTS.items()
    ])


def snippet(text: str, wanted: set[str], *, width: int = SNIPPET_CHARS) -> Markup:
    """About `width` characters of `text` around its first matched term, marked and escaped.

    The window is found by a plain search of the folded text, so only the window is analysed.
    """
    if not text:
        return Markup("")
    folded = fold(text)
    found = [at for at in (folded.find(term) for term in wanted) if at >= 0]
    first = min(found) if found else 0
    start = first - width // 3 if first > width // 3 else 0
    end = min(len(text), start + width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return Markup(prefix) + mark(text[start:end], wanted) + Markup(suffix)
