"""`make bench-pages`: page throughput against gunicorn as `make serve` runs it.

Measures, with wrk on 127.0.0.1 in one run: a hello-world ceiling route, the article page's HTML
as pre-built bytes (the framework ceiling for that page), and the real article page with 12
product blocks for an anonymous and for a signed-in reader. Prints requests/s, p50, p99 and ratios,
and the server CPU each request cost (gunicorn's processes, user + system time over the run): wrk
shares the machine's cores, and the machines here differ in speed from day to day, so CPU per request
is the figure that compares across runs.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from cpu import process_tree_cpu_seconds  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
BENCH_HANDLE = "benchwriter"
BENCH_SLUG = "twelve-blocks"
# One browser: the same User-Agent signs in and reads (Flask-Login's session protection ties the
# session to it; a different one would mark the session not fresh and rewrite the cookie every time).
USER_AGENT = "zhongcao-bench/1 (wrk)"


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ZHONGCAO_DATABASE_URL=f"sqlite:///{OUT / 'bench.sqlite3'}",
        ZHONGCAO_DATA_DIR=str(OUT / "data"),
        ZHONGCAO_BENCH_ROUTES="1",
        ZHONGCAO_FETCH_REMOTE_IMAGES="false",
    )
    return env


def prepare_database() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    env = bench_env()
    subprocess.run([str(BIN / "zhongcao"), "migrate"], env=env, check=True, cwd=ROOT)
    subprocess.run([str(BIN / "zhongcao"), "import", "content/"], env=env, check=True, cwd=ROOT)
    subprocess.run([sys.executable, str(Path(__file__).with_name("make_bench_article.py"))], env=env, check=True, cwd=ROOT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--workers", "2", "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "zhongcao:create_app()",
    ]
    server = subprocess.Popen(command, env=bench_env(), cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not become healthy within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def signed_in_cookie(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/signin", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    if token is None:
        raise SystemExit("no CSRF token on /signin")
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": "reader@demo.zhongcao.example", "password": "zhongcao-demo-2026"}
    ).encode()
    request = urllib.request.Request(f"{base}/signin", data=form, headers={"Referer": f"{base}/signin"})
    opener.open(request, timeout=10).read()
    # Like a browser, keep the cookie as the first signed-in page leaves it (with its CSRF secret).
    with opener.open(f"{base}/settings", timeout=10) as response:
        if response.geturl().rstrip("/").endswith("/signin"):
            raise SystemExit("the session cookie does not sign in")
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "session" not in cookies:
        raise SystemExit("sign-in did not set a session cookie")
    return f"session={cookies['session']}"


def check_signed_in_page(url: str, cookie: str) -> None:
    """The signed-in run must measure a signed-in page, and one whose cookie the browser keeps as is."""
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode()
        if response.headers.get("Set-Cookie"):
            raise SystemExit("the signed-in article page rewrites the session cookie on every view")
    if "退出 Sign out" not in page:
        raise SystemExit("the signed-in article page does not show the reader as signed in")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
def run_wrk(url: str, server: subprocess.Popen, cookie: str | None = None) -> dict[str, float]:
    headers = ["-H", f"User-Agent: {USER_AGENT}"] + (["-H", f"Cookie: {cookie}"] if cookie else [])
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", *headers, url]
    warm_up = ["wrk", "-t2", f"-c{CONNECTIONS}", "-d2s", *headers, url]
    subprocess.run(warm_up, capture_output=True, check=True)
    cpu_before = process_tree_cpu_seconds(server.pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = process_tree_cpu_seconds(server.pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {
        int(match.group(1)): float(match.group(2)) * UNITS[match.group(3)]
        for match in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": rate,
        "cpu_ms": cpu * 1000 / max(requests, 1),
        "p50": percentiles.get(50, float("nan")),
        "p99": percentiles.get(99, float("nan")),
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    prepare_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        article_url = f"{base}/@{BENCH_HANDLE}/{BENCH_SLUG}"
        with urllib.request.urlopen(article_url, timeout=10) as response:
            html = response.read()
        prebuilt = OUT / "data" / "bench" / "article.html"
        prebuilt.parent.mkdir(parents=True, exist_ok=True)
        prebuilt.write_bytes(html)
        cookie = signed_in_cookie(base)
        check_signed_in_page(article_url, cookie)
        results = {
            "hello world (ceiling)": run_wrk(f"{base}/_bench/hello", server),
            "article, pre-built bytes": run_wrk(f"{base}/_bench/prebuilt", server),
            "article, anonymous": run_wrk(article_url, server),
            "article, signed in": run_wrk(article_url, server, cookie),
        }
    finally:
        stop_server(server)
    report(results, len(html))


def report(results: dict[str, dict], page_bytes: int) -> None:
    print(f"\nbench-pages: gunicorn 2 sync workers, wrk -t2 -c{CONNECTIONS} -d{DURATION}, article page {page_bytes} bytes, 12 product blocks")
    print(f"{'endpoint':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'errors':>7}")
    for name, figures in results.items():
        errors = figures["non2xx"]
        print(
            f"{name:28} {figures['rps']:9.0f} {figures['p50']:8.2f} {figures['p99']:8.2f} {figures['cpu_ms']:11.3f}"
            f" {errors:7d} {figures['socket_errors']}"
        )
    hello = results["hello world (ceiling)"]["rps"]
    prebuilt = results["article, pre-built bytes"]["rps"]
    anonymous = results["article, anonymous"]
    signed_in = results["article, signed in"]
    print()
    print(f"anonymous / pre-built bytes: {anonymous['rps'] / prebuilt:6.1%}  (goal >= 50%)")
    print(f"signed in / hello world:     {signed_in['rps'] / hello:6.1%}  (goal >= 20%)")
    print(f"p99 anonymous {anonymous['p99']:.2f} ms, signed in {signed_in['p99']:.2f} ms  (goal < 25 ms at {CONNECTIONS} connections)")


if __name__ == "__main__":
    main()
