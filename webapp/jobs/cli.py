"""``flask --app webapp reminders dispatch|worker`` and ``forget-inactive``."""
import click
from flask import Blueprint, current_app
from flask.cli import with_appcontext

from webapp.config import settings
from webapp.jobs import dispatch, scheduler, senders

bp = Blueprint("reminders", __name__, cli_group="reminders")


@bp.cli.command("dispatch")
def dispatch_command():
    """Send everything due now once, print counts, exit."""
    app = current_app._get_current_object()
    app.extensions["unknot_role"] = "dispatch"  # a process of its own: may use every core
    try:
        counts = dispatch.run_pass(app)
    finally:
        senders.close(app)
    click.echo(" ".join(f"{k}={counts.get(k, 0)}"
                        for k in ("ok", "retry", "gone", "drop", "config", "skipped", "deferred")))


@bp.cli.command("worker")
def worker_command():
    """Run the tick alone, forever (Ctrl-C stops it)."""
    click.echo(f"worker: tick every {settings(current_app).tick_seconds} s")
    scheduler.run_worker(current_app._get_current_object())


@click.command("forget-inactive")
@with_appcontext
def forget_inactive_command():
    """Delete subscriptions not heard from for 60 days, and logs over 30 days old (UNKNOT_FORGET_AFTER_DAYS, UNKNOT_KEEP_LOGS_DAYS)."""
    counts = scheduler.forget(current_app._get_current_object())
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


def init_app(app):
    app.register_blueprint(bp)
    app.cli.add_command(forget_inactive_command)
