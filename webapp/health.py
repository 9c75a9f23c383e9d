"""GET /healthz: is this process fit to serve, and are reminders going out?

JSON, 200 when healthy, 503 when not:

    {"status": "ok" | "failing",
     "database": {"ok": true, "ms": 0.8} | {"ok": false, "error": "OperationalError"},
     "scheduler": {"in_process": false, "age_seconds": 1.4, "source": "worker", "workers": 2,
                   "ok": true}}

- database: one ``SELECT 1`` through the app's engine.
- scheduler: the age of the newest tick. A process with the scheduler
  inside reads its own (``app.extensions["unknot_heartbeat"]``); a web
  process with ``UNKNOT_SCHEDULER=off`` reads the newest row of the
  ``heartbeats`` table, stamped by every worker after every pass, so it
  reports on the workers wherever they run. Stale when older than
  ``HEALTH_MAX_HEARTBEAT_AGE`` seconds (default: 120, or 10 ticks if more),
  or when no tick has ever been recorded.
"""
import time
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from .db import db
from .models import Heartbeat

bp = Blueprint("health", __name__)


def _max_age(app):
    configured = app.config.get("HEALTH_MAX_HEARTBEAT_AGE")
    if configured is not None:
        return float(configured)
    return max(120.0, 10 * float(app.config.get("TICK_SECONDS", 2)))


@bp.get("/healthz")
def healthz():
    app = current_app._get_current_object()
    now = datetime.now(timezone.utc)
    body = {"status": "ok"}
    healthy = True

    started = time.perf_counter()
    newest = workers = None
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            newest, workers = conn.execute(
                select(func.max(Heartbeat.beat_at), func.count())
                .where(Heartbeat.beat_at >= now - timedelta(seconds=_max_age(app)))
            ).one()
            if newest is None:
                newest = conn.scalar(select(func.max(Heartbeat.beat_at)))
        body["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # any failure to reach the database
        healthy = False
        body["database"] = {"ok": False, "error": type(exc).__name__}

    own = app.extensions.get("unknot_heartbeat")
    in_process = app.extensions.get("unknot_scheduler") is not None
    if in_process or own is not None:
        beat, source = own, "in_process"
    else:
        beat, source = newest, "workers"
    if isinstance(beat, datetime) and beat.tzinfo is None:
        beat = beat.replace(tzinfo=timezone.utc)
    age = None if beat is None else round(max(0.0, (now - beat).total_seconds()), 1)
    scheduler_ok = age is not None and age <= _max_age(app)
    body["scheduler"] = {"in_process": in_process, "source": source, "age_seconds": age,
                         "max_age_seconds": _max_age(app), "workers": workers, "ok": scheduler_ok}
    healthy = healthy and scheduler_ok
    if not healthy:
        body["status"] = "failing"
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.register_blueprint(bp)
