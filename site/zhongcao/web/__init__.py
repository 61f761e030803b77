"""HTTP layer: one blueprint per domain. Views parse input, call one domain operation, pick a template."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from zhongcao.web import accounts, admin, articles, catalog, creators, errors, main, media, seo

    for module in (main, media, accounts, catalog, articles, creators, admin, seo):
        app.register_blueprint(module.bp)
    if app.config.get("BENCH_ROUTES"):
        from zhongcao.web import bench

        app.register_blueprint(bench.bp)
    errors.install(app)
    main.install_template_globals(app)
