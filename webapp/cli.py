"""``flask --app webapp reminders dispatch|worker``."""
import click
from flask import Blueprint, current_app

from . import dispatch, scheduler

bp = Blueprint("reminders", __name__, cli_group="reminders")


@bp.cli.command("dispatch")
def dispatch_command():
    """Send everything due now once, print counts, exit."""
    counts = dispatch.run_pass(current_app._get_current_object())
    click.echo(" ".join(f"{k}={counts.get(k, 0)}" for k in ("ok", "retry", "gone", "drop", "skipped")))


@bp.cli.command("worker")
def worker_command():
    """Run the tick alone, forever (Ctrl-C stops it)."""
    click.echo(f"worker: tick every {current_app.config['TICK_SECONDS']} s")
    scheduler.run_worker(current_app._get_current_object())
