"""Several gunicorn workers writing the one Whoosh index at once: creators sign in through the real
forms (CSRF on) and publish and edit articles while readers search, for a bounded time. No request
fails, every published article is found by its unique title word (by the workers straight after
publishing, and afterwards), and `zhongcao search-check` exits 0."""
from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from zhongcao import create_app
from zhongcao.accounts.models import User
from zhongcao.accounts.passwords import hash_password
from zhongcao.db import new_session
from zhongcao.migrations import upgrade
from zhongcao.search import SearchQuery

PASSWORD = "multi-process-password-42"
WORKERS = 2
CREATORS = 3
ARTICLES_PER_CREATOR = 5
SEARCHERS = 2
SEARCHES_PER_SEARCHER = 150
TIME_BUDGET = 15.0  # seconds of writing and searching; every loop is also bounded by a count
BIN = Path(sys.executable).parent
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
_WRITE_ID = re.compile(r"/write/(\d+)$")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client that records every status it got."""

    def __init__(self, base: str, statuses: list[int]) -> None:
        self.base = base
        self.statuses = statuses
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=20) as response:
                status, text, location = response.status, response.read().decode("utf-8"), response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            status, text, location = error.code, error.read().decode("utf-8", "replace"), error.headers.get("Location", "")
        self.statuses.append(status)
        return status, text, location

    def csrf(self, path: str) -> str:
        status, text, _ = self.request(path)
        assert status == 200, (path, status)
        match = _CSRF.search(text)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)


@pytest.fixture
def site(tmp_path):
    """gunicorn with 2 workers on an ephemeral port, over a migrated SQLite file with three creators."""
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "multi-process-secret-" + "x" * 32,
    }
    app = create_app(settings)
    engine = app.extensions["zhongcao.engine"]
    upgrade(engine)
    password_hash = hash_password(PASSWORD)
    with new_session(engine) as session:
        for number in range(CREATORS):
            handle = f"writer{number}"
            session.add(User(email=f"{handle}@example.com", handle=handle, handle_key=handle, display_name=f"作者{number}",
                             password_hash=password_hash, is_creator=True))
        session.commit()
    engine.dispose()

    port = _free_port()
    env = {
        **os.environ,
        "ZHONGCAO_DATABASE_URL": settings["DATABASE_URL"],
        "ZHONGCAO_DATA_DIR": settings["DATA_DIR"],
        "ZHONGCAO_SECRET_KEY": settings["SECRET_KEY"],
        "ZHONGCAO_RATELIMIT_ENABLED": "false",
        "ZHONGCAO_FETCH_REMOTE_IMAGES": "false",
    }
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "sync", "--timeout", "60",
         "--bind", f"127.0.0.1:{port}", "zhongcao:create_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/search?q=warmup", timeout=20) as response:
                    if response.status == 200:
                        break
            except OSError:  # not listening yet, or still loading
                pass
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
            time.sleep(0.2)
        yield {"base": base, "env": env, "settings": settings, "log": tmp_path / "gunicorn.log"}
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait(timeout=5)
        log.close()


def _creator(base: str, number: int, deadline: float, published: dict[str, str], late: list[str],
             statuses: list[int], errors: list[str]) -> None:
    browser = Browser(base, statuses)
    token = browser.csrf("/signin")
    status, _, _ = browser.request("/signin", {"csrf_token": token, "email": f"writer{number}@example.com",
                                               "password": PASSWORD, "next": ""})
    if status != 303:
        errors.append(f"writer{number} could not sign in: {status}")
        return
    for index in range(ARTICLES_PER_CREATOR):
        if time.monotonic() > deadline:
            break
        word = f"uniq{number}w{index}k"
        fields = {"title": f"多进程测试 {word}", "kind": "note", "summary": "", "tags": "测试", "slug": "",
                  "body_md": f"并发写入的正文 {word}。"}
        token = browser.csrf("/write")
        status, _, location = browser.request("/write", {**fields, "csrf_token": token, "action": "draft"})
        found = _WRITE_ID.search(location)
        if status != 303 or not found:
            errors.append(f"{word}: saving the draft gave {status} {location}")
            continue
        edit_path = f"/write/{found.group(1)}"
        status, _, location = browser.request(edit_path, {**fields, "csrf_token": token, "action": "publish"})
        if status != 303:
            errors.append(f"{word}: publishing gave {status}")
            continue
        published[word] = urllib.parse.urlsplit(location).path
        status, _, _ = browser.request(edit_path, {**fields, "body_md": f"编辑过的正文 {word} edited", "csrf_token": token,
                                                   "action": "draft"})
        if status != 303:
            errors.append(f"{word}: editing gave {status}")
        # Any worker serves the next request: the new article must be visible there within a second.
        seen_by = time.monotonic() + 1.0
        while True:
            status, text, _ = browser.request("/search?" + urllib.parse.urlencode({"q": word}))
            if status == 200 and html.escape(published[word]) in text:
                break
            if time.monotonic() > seen_by:
                late.append(word)
                break
            time.sleep(0.05)


def _searcher(base: str, deadline: float, statuses: list[int], errors: list[str]) -> None:
    browser = Browser(base, statuses)
    queries = ["多进程", "测试", "uniq0w0k", "编辑过", "edited", "正文", "AND OR (", "乾裂 電商"]
    for number in range(SEARCHES_PER_SEARCHER):
        if time.monotonic() > deadline:
            break
        query = queries[number % len(queries)]
        status, _, _ = browser.request("/search?" + urllib.parse.urlencode({"q": query}))
        if status != 200:
            errors.append(f"search {query!r} gave {status}")
        if number % 5 == 0:
            browser.request("/search/suggest?" + urllib.parse.urlencode({"q": query[:2]}))


def test_concurrent_publishes_edits_and_searches_on_two_workers_lose_nothing(site):
    statuses: list[int] = []
    errors: list[str] = []
    late: list[str] = []
    published: dict[str, str] = {}
    deadline = time.monotonic() + TIME_BUDGET
    threads = [threading.Thread(target=_creator, args=(site["base"], number, deadline, published, late, statuses, errors))
               for number in range(CREATORS)]
    threads += [threading.Thread(target=_searcher, args=(site["base"], deadline, statuses, errors)) for _ in range(SEARCHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIME_BUDGET + 60)
    assert not any(thread.is_alive() for thread in threads), "a client thread did not finish"

    log = site["log"].read_text(errors="replace")
    assert errors == [], errors
    assert [status for status in statuses if status >= 500] == [], log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert late == []
    assert len(published) >= CREATORS * 2, len(published)  # at least two articles per creator in the time

    app = create_app(site["settings"])
    backend = app.extensions["zhongcao.search"]
    try:
        for word, path in published.items():
            hits = backend.search(SearchQuery(text=word)).hits
            assert [hit.document.url for hit in hits] == [path], word
            assert "edited" in hits[0].document.body
    finally:
        backend.close()
        app.extensions["zhongcao.engine"].dispose()

    check = subprocess.run([str(BIN / "zhongcao"), "search-check"], env=site["env"], capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
