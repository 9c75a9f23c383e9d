"""Alembic, driven from the app: migrations run on start and by ``flask db upgrade``."""
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Blueprint

from .db import db

bp = Blueprint("db", __name__, cli_group="db")


def alembic_config(connection):
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(revision="head"):
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # One process migrates at a time when several start together.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        command.upgrade(alembic_config(connection), revision)


@bp.cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision):
    """Apply migrations up to REVISION (default: head)."""
    upgrade(revision)
    click.echo(f"database at {revision}")
