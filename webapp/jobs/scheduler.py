"""APScheduler wiring: the tick, an interval job that runs a dispatch pass,
and a daily job that forgets inactive subscriptions and old logs.

``flask run`` starts it inside the web process when ``UNKNOT_SCHEDULER=on``
(the default). Web processes under gunicorn set ``UNKNOT_SCHEDULER=off`` and
leave the tick to ``flask --app webapp reminders worker`` processes.

After each pass the tick stamps a heartbeat (webapp.jobs.heartbeat, read
by GET /healthz) and, if
the next reminder is due before the next interval, moves its own next run to
that moment: a burst due at 08:00:00 starts going out at 08:00:00, not up to
one interval later.
"""
import logging
import os
from datetime import datetime, timedelta, timezone

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from webapp import clock
from webapp.config import settings
from webapp.jobs import dispatch, heartbeat, senders
from webapp.store import retention
from webapp.store.db import database

JOB_ID = "tick"
log = logging.getLogger(__name__)


def tick(app):
    with app.app_context():
        counts = dispatch.run_pass(app)  # raises (and so skips the heartbeat) if the database is down
        now = datetime.now(timezone.utc)
        heartbeat.beat(app, app.extensions.get("unknot_role", "embedded"), now)
        if counts:
            log.info("dispatch: %s", dict(counts))
        _wake_for_next_due(app)


def _wake_for_next_due(app):
    scheduler = app.extensions.get("unknot_scheduler")
    if scheduler is None:
        return
    now = clock.now(app)
    interval = timedelta(seconds=settings(app).tick_seconds)
    due = dispatch.next_due_after(app, now)
    if due is not None and due < now + interval:
        scheduler.modify_job(JOB_ID, next_run_time=datetime.now(timezone.utc) + (due - now))


def forget(app) -> dict:
    """The daily clean-up behind the privacy promise (see webapp.store.retention)."""
    s = settings(app)
    with database(app).begin() as session:
        counts = retention.forget_inactive(session, clock.now(app), inactive=timedelta(days=s.forget_after_days),
                                           keep_logs=timedelta(days=s.keep_logs_days))
    log.info("forget-inactive: %s", counts)
    return counts


def add_jobs(scheduler, app):
    scheduler.add_job(
        tick, "interval", args=[app], id=JOB_ID, seconds=settings(app).tick_seconds,
        coalesce=True, max_instances=1, misfire_grace_time=None,
        next_run_time=datetime.now(timezone.utc),
    )
    scheduler.add_job(
        forget, "interval", args=[app], id="forget", hours=24, coalesce=True, max_instances=1,
        next_run_time=datetime.now(timezone.utc) + timedelta(minutes=1),
    )


def wake(app):
    """Run the tick now (a test push should not wait for the next interval)."""
    scheduler = app.extensions.get("unknot_scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.modify_job(JOB_ID, next_run_time=datetime.now(timezone.utc))


def _is_serving():
    """True under ``flask run`` (the serving child when reloading) or a WSGI server."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    if ctx.info_name != "run":
        return False
    return not ctx.params.get("reload") or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def init_app(app):
    if not settings(app).scheduler or app.testing or not _is_serving():
        return
    scheduler = BackgroundScheduler(timezone=timezone.utc, daemon=True)
    add_jobs(scheduler, app)
    app.extensions["unknot_scheduler"] = scheduler
    scheduler.start()


def run_worker(app):
    """Block, running the tick: any number of these may share one database."""
    scheduler = BlockingScheduler(timezone=timezone.utc)
    add_jobs(scheduler, app)
    app.extensions["unknot_scheduler"] = scheduler
    app.extensions["unknot_role"] = "worker"
    try:
        scheduler.start()
    finally:
        senders.close(app)
