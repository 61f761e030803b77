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


def main() -> None:
    """Console entry point: the zhongcao group's commands at top level, with the app created for them."""
    from zhongcao import create_app

    group = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False, add_version_option=False)
    for name, command in zhongcao_group.commands.items():
        group.add_command(command, name)
    group(prog_name="zhongcao")
