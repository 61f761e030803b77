"""HTTP layer: one blueprint per domain. Views parse input, call one domain operation, pick a template."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from zhongcao.web import accounts, admin, articles, catalog, creators, errors, main, media, search, seo

    for module in (main, media, accounts, catalog, articles, creators, admin, search, seo):
        app.register_blueprint(module.bp)
    if app.config.get("BENCH_ROUTES"):
        from zhongcao.web import bench

        app.register_blueprint(bench.bp)
    from zhongcao.web import share  # share links, view beacon, trending (issue 3 §7, §9)

    app.register_blueprint(share.bp)
    from zhongcao.web import social  # likes, collections, comments, notifications (issue 3 §5, §6, §8)

    app.register_blueprint(social.bp)
    errors.install(app)
    main.install_template_globals(app)
