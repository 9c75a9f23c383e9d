"""Alembic, driven from the app: migrations run on start and by ``flask db upgrade``."""
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Blueprint, current_app

from webapp.store.db import database

bp = Blueprint("db", __name__, cli_group="db")
# pg_advisory_xact_lock key: one process migrates at a time when several start together.
MIGRATION_LOCK = 727274


def alembic_config(connection):
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(app, revision="head"):
    with database(app).engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one; with
            # foreign keys on, SQLite's DROP TABLE first deletes the rows that
            # point at it (ON DELETE CASCADE): every reminder and water log.
            _foreign_keys(connection, "OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                command.upgrade(alembic_config(connection), revision)
        finally:
            if sqlite:
                _foreign_keys(connection, "ON")


def _foreign_keys(connection, state):
    # Only outside a transaction does SQLite take this pragma.
    connection.exec_driver_sql(f"PRAGMA foreign_keys={state}")
    connection.commit()


@bp.cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision):
    """Apply migrations up to REVISION (default: head)."""
    upgrade(current_app, revision)
    click.echo(f"database at {revision}")
