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
    from zhongcao.web import webhooks  # payment providers' signed callbacks (issue 4 §3)

    app.register_blueprint(webhooks.bp)
    from zhongcao.web import earnings  # creator dashboard, payouts, merchant sales, honours (issue 4 §6–9)

    app.register_blueprint(earnings.bp)
    from zhongcao.web import commerce  # cart, checkout, addresses, sandbox payment (issue 4 §1–3)

    app.register_blueprint(commerce.bp)
    from zhongcao.web import orders  # order history and pages, merchant order queue, refunds (issue 4 §4)

    app.register_blueprint(orders.bp)
    errors.install(app)
    main.install_template_globals(app)
    from zhongcao.web import page_cache  # `personal(...)` parts of cacheable pages

    page_cache.install(app)
