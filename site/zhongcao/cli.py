"""The `zhongcao` console command (also `flask zhongcao …`)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup

from zhongcao.db import new_session

zhongcao_group = AppGroup("zhongcao", help="Zhongcao operations.")


def _session():
    return new_session(current_app.extensions["zhongcao.engine"])


@zhongcao_group.command("migrate")
def migrate_command() -> None:
    """Apply every Alembic migration to the configured database."""
    from zhongcao import migrations

    migrations.upgrade(current_app.extensions["zhongcao.engine"])
    click.echo("database is up to date")


@zhongcao_group.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=Path))
def import_command(path: Path) -> None:
    """Import merchants, products, creators and articles from Markdown files (idempotent upsert by slug)."""
    from zhongcao.importer import import_path

    with _session() as session:
        report = import_path(session, path, data_dir=Path(current_app.config["DATA_DIR"]))
    for line in report.lines():
        click.echo(line)
    if report.problems:
        click.echo(f"{len(report.problems)} problem(s); the files named above were skipped", err=True)
        sys.exit(1)


@zhongcao_group.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--handle", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin_command(email: str, handle: str, password: str) -> None:
    """Create an administrator account (or promote an existing account with that email)."""
    from zhongcao.accounts.services import create_admin
    from zhongcao.errors import DomainError
    from zhongcao.web import messages

    with _session() as session:
        try:
            user = create_admin(session, email=email, handle=handle, password=password)
        except DomainError as error:
            click.echo(messages.describe(error), err=True)
            sys.exit(1)
    click.echo(f"admin @{user.handle} <{user.email}> is ready")


@zhongcao_group.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from the database and swap it in atomically (the site keeps serving)."""
    import time

    from zhongcao.search import sync

    backend = current_app.extensions["zhongcao.search"]
    started = time.monotonic()
    count = sync.reindex(current_app.extensions["zhongcao.engine"], backend)
    click.echo(f"search index ({backend.name}) rebuilt: {count} documents in {time.monotonic() - started:.1f}s")


@zhongcao_group.command("search-check")
@click.option("--show", default=20, show_default=True, help="How many keys of each problem to list.")
def search_check_command(show: int) -> None:
    """Compare the search index with the database; exit 1 if documents are missing, stale or extra."""
    from zhongcao.search import sync

    backend = current_app.extensions["zhongcao.search"]
    report = sync.check(current_app.extensions["zhongcao.engine"], backend)
    for label, keys in (("missing", report.missing), ("stale", report.stale), ("extra", report.extra)):
        listed = ", ".join(f"{kind}:{item_id}" for kind, item_id in keys[:show])
        more = f" (+{len(keys) - show} more)" if len(keys) > show else ""
        click.echo(f"{label}: {len(keys)}" + (f"  {listed}{more}" if keys else ""))
    if not report.ok:
        click.echo(f"search index ({backend.name}) differs from the database; run `zhongcao reindex`", err=True)
        sys.exit(1)
    click.echo(f"search index ({backend.name}) matches the database: {report.checked} documents")


@zhongcao_group.command("ledger-check")
@click.option("--show", default=50, show_default=True, help="How many problems to list.")
def ledger_check_command(show: int) -> None:
    """Audit the money ledger; exit 1 if any transaction or order does not sum to zero or any line's
    commission, fee or refunds differ from the rule."""
    from zhongcao.ledger.ledger import check_ledger

    with _session() as session:
        problems = check_ledger(session)
    for problem in problems[:show]:
        click.echo(str(problem))
    if len(problems) > show:
        click.echo(f"(+{len(problems) - show} more)")
    if problems:
        click.echo(f"ledger check failed: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("ledger check passed: every transaction and order balances to zero")


@zhongcao_group.command("run-due")
@click.option("--now", "now_text", default=None, help="Act as if it were this ISO time (e.g. 2026-12-01T00:00:00+00:00); for demos and tests.")
def run_due_command(now_text: str | None) -> None:
    """Apply what is due: expire unpaid checkouts, auto-receive shipped orders, complete orders whose
    return window closed (confirming commissions). Idempotent; safe to run every minute from cron."""
    from datetime import datetime, timezone

    from zhongcao.clock import utcnow
    from zhongcao.commerce.due import run_due

    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter("use an ISO time such as 2026-12-01T08:00:00+08:00", param_hint="--now")
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        now = now.astimezone(timezone.utc)
    else:
        now = utcnow()
    with _session() as session:
        report = run_due(session, now=now, auto_receive_days=current_app.config["AUTO_RECEIVE_DAYS"],
                         return_window_days=current_app.config["RETURN_WINDOW_DAYS"])
    click.echo(f"run-due at {now.isoformat()}")
    for line in report.lines():
        click.echo(line)
    if report.failed:
        sys.exit(1)


def main() -> None:
    """Console entry point: the zhongcao group's commands at top level, with the app created for them."""
    from zhongcao import create_app

    group = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False, add_version_option=False)
    for name, command in zhongcao_group.commands.items():
        group.add_command(command, name)
    group(prog_name="zhongcao")
