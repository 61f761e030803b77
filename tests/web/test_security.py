"""The security baseline: throttling, CSRF, safe redirects, response headers and the media route."""
from __future__ import annotations

import re
import uuid

import pytest

from tests.conftest import TEST_PASSWORD

THROTTLED = {"RATELIMIT_ENABLED": True}
CSRF_ON = {"WTF_CSRF_ENABLED": True}


def _attempt(client, path="/signin", email="someone@example.com", address="127.0.0.1", forwarded=None):
    # No password: the form fails its shape check, so the throttle is exercised without hashing.
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(path, data={"email": email}, headers=headers, environ_base={"REMOTE_ADDR": address})


def _statuses(responses) -> list[int]:
    return [response.status_code for response in responses]


@pytest.mark.parametrize("app_overrides", [THROTTLED])
@pytest.mark.parametrize("path", ["/signin", "/signup", "/password/forgot"])
def test_one_address_is_throttled_after_twenty_attempts_a_minute(client, path):
    statuses = _statuses(_attempt(client, path, email=f"person{n}@example.com") for n in range(21))

    assert 429 not in statuses[:20]
    assert statuses[20] == 429


@pytest.mark.parametrize("app_overrides", [THROTTLED])
@pytest.mark.parametrize(("path", "allowed"), [("/signin", 10), ("/signup", 10), ("/password/forgot", 5)])
def test_one_account_is_throttled_whatever_address_the_attempts_come_from(client, path, allowed):
    statuses = _statuses(_attempt(client, path, email="Target@Example.com", address=f"10.0.0.{n}") for n in range(allowed + 1))

    assert 429 not in statuses[:allowed]
    assert statuses[allowed] == 429
    assert _attempt(client, path, email="someone.else@example.com", address="10.0.1.1").status_code != 429


@pytest.mark.parametrize("app_overrides", [THROTTLED])
def test_the_throttle_answers_with_a_friendly_bilingual_page(client):
    for n in range(20):
        _attempt(client, email=f"person{n}@example.com")

    response = _attempt(client)

    assert response.status_code == 429
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "操作太频繁，请稍后再试" in text and "Too many requests" in text


@pytest.mark.parametrize("app_overrides", [THROTTLED])
def test_a_throttled_htmx_request_gets_the_message_as_a_fragment(client):
    for n in range(20):
        _attempt(client, email=f"person{n}@example.com")

    response = client.post("/signin", data={"email": "x@example.com"}, headers={"HX-Request": "true"})

    assert response.status_code == 429
    assert response.get_data(as_text=True).startswith('<div class="error-message"')


@pytest.mark.parametrize("app_overrides", [{**THROTTLED, "PROXY_COUNT": 0}])
def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit_without_a_proxy(client):
    statuses = _statuses(
        _attempt(client, email=f"person{n}@example.com", forwarded=f"198.51.100.{n}") for n in range(21)
    )

    assert statuses[20] == 429


@pytest.mark.parametrize("app_overrides", [{**THROTTLED, "PROXY_COUNT": 1}])
def test_behind_one_proxy_the_forwarded_address_is_the_one_throttled(client):
    # Every request reaches us from the proxy's address; the client is the last X-Forwarded-For hop.
    distinct = _statuses(
        _attempt(client, email=f"person{n}@example.com", address="10.1.1.1", forwarded=f"203.0.113.{n}") for n in range(25)
    )
    prepended = _statuses(
        _attempt(client, email=f"other{n}@example.com", address="10.1.1.1", forwarded=f"1.2.3.4, 198.51.100.{n}")
        for n in range(21)
    )

    assert 429 not in distinct
    assert 429 not in prepended  # the hop our proxy appended counts, not whatever the client wrote before it
    same_client = _statuses(
        _attempt(client, email=f"third{n}@example.com", address="10.1.1.1", forwarded=f"198.51.100.{n}, 203.0.113.77")
        for n in range(21)
    )
    assert 429 not in same_client[:20] and same_client[20] == 429


def test_sign_in_is_not_throttled_when_the_limiter_is_off(client):
    assert 429 not in _statuses(_attempt(client, email="same@example.com") for _ in range(25))


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_post_without_the_csrf_token_is_a_friendly_400(client, make_user):
    user = make_user()

    response = client.post("/signin", data={"email": user.email, "password": TEST_PASSWORD})

    assert response.status_code == 400
    assert "页面已过期，请刷新后重试" in response.get_data(as_text=True)


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_post_with_the_token_from_the_page_works(client, make_user):
    user = make_user()
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', client.get("/signin").get_data(as_text=True)).group(1)

    response = client.post("/signin", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})

    assert response.status_code == 303


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_an_htmx_post_with_the_token_in_its_header_works(client, session, make_user, sign_in_as):
    user = make_user()
    sign_in_as(client, user)
    body_headers = re.search(r'<body hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', client.get("/settings").get_data(as_text=True))

    without = client.post("/settings/creator-application", data={"pitch": "我写了三年护肤测评，想在种草分享"}, headers={"HX-Request": "true"})
    response = client.post(
        "/settings/creator-application",
        data={"pitch": "我写了三年护肤测评，想在种草分享"},
        headers={"HX-Request": "true", "X-CSRFToken": body_headers.group(1)},
    )

    assert without.status_code == 400
    assert response.status_code == 303


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "%2F%2Fevil.example", "///evil.example", "/\tevil"],
)
def test_sign_in_never_redirects_off_site(client, make_user, target):
    user = make_user()

    response = client.post("/signin", data={"email": user.email, "password": TEST_PASSWORD, "next": target})

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_sign_in_follows_a_local_next_path(client, make_user):
    user = make_user()
    form = client.get("/signin?next=/settings").get_data(as_text=True)

    response = client.post("/signin", data={"email": user.email, "password": TEST_PASSWORD, "next": "/settings"})

    assert 'name="next" type="hidden" value="/settings"' in form
    assert response.headers["Location"] == "/settings"


def test_a_page_that_needs_sign_in_sends_the_visitor_back_afterwards(client):
    response = client.get("/settings")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=")


def _assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_page_carries_the_security_headers(client):
    response = client.get("/signin")

    assert response.status_code == 200
    _assert_security_headers(response)


def test_a_404_carries_the_security_headers(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    _assert_security_headers(response)


def test_a_server_error_is_friendly_and_carries_the_security_headers(app, client):
    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/test-explode", "test_explode", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    response = client.get("/test-explode")

    assert response.status_code == 500
    assert "服务器出了点问题" in response.get_data(as_text=True)
    assert "boom" not in response.get_data(as_text=True)
    _assert_security_headers(response)


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_csrf_failure_carries_the_security_headers(client):
    response = client.post("/signout")

    assert response.status_code == 400
    _assert_security_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        "/media/../instance/zhongcao.sqlite3",
        "/media/..%2F..%2Fpyproject.toml",
        "/media/%2e%2e%2fpyproject.toml",
        "/media/" + "0" * 32 + ".png",
        "/media/" + "0" * 32 + ".svg",
        "/media/" + "0" * 32 + ".PNG",
        "/media/not-a-generated-name.png",
        "/media/.png",
    ],
)
def test_the_media_route_serves_only_generated_names(client, path):
    assert client.get(path).status_code == 404


REDIS_URI = "redis://127.0.0.1:6379"
# Unique per process: pytest-xdist may run the SQLite and PostgreSQL variants at the same time.
REDIS_PREFIX = f"zhongcao-test-throttle-{uuid.uuid4().hex[:12]}"


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URI, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


@pytest.mark.parametrize(
    "app_overrides",
    [dict(THROTTLED, RATELIMIT_STORAGE_URI=REDIS_URI, RATELIMIT_KEY_PREFIX=REDIS_PREFIX)],
)
def test_throttling_with_redis_storage_counts_in_redis_where_every_worker_sees_it(client, app):
    redis_client = _redis_or_skip()
    for key in redis_client.scan_iter(f"*{REDIS_PREFIX}*"):
        redis_client.delete(key)
    try:
        statuses = _statuses(_attempt(client, email=f"redis{n}@example.com", address="10.9.8.7") for n in range(21))
        keys = list(redis_client.scan_iter(f"*{REDIS_PREFIX}*"))
    finally:
        for key in redis_client.scan_iter(f"*{REDIS_PREFIX}*"):
            redis_client.delete(key)

    assert 429 not in statuses[:20] and statuses[20] == 429
    assert keys, "the counters live in Redis, shared by every gunicorn worker"
