"""The app factory, health check and the headers every response carries."""
from __future__ import annotations

import pytest

from zhongcao import create_app


def test_health_check_reports_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_every_page_carries_security_headers(client):
    response = client.get("/")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'self'" in csp
    assert "img-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_production_refuses_the_development_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("ZHONGCAO_ENV", "production")

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "DATA_DIR": str(tmp_path)})


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_gunicorn_workers_load_the_segmenter_and_freeze_the_app_out_of_garbage_collection():
    import gc
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    try:
        settings["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 0
        from zhongcao.search import analysis

        assert analysis._jieba is not None  # loaded at boot, not in the first search
    finally:
        gc.unfreeze()


def test_gunicorn_workers_keep_their_heartbeat_file_in_memory():
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))

    assert settings["worker_tmp_dir"] == "/dev/shm"  # every Linux machine we run on has it
