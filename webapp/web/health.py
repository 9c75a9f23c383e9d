"""GET /healthz: is this process fit to serve, and are reminders going out?

JSON, 200 when healthy, 503 when not:

    {"status": "ok" | "degraded" | "failing",
     "database": {"ok": true, "ms": 0.8} | {"ok": false, "error": "OperationalError"},
     "scheduler": {"in_process": false, "age_seconds": 1.4, "source": "worker", "workers": 2,
                   "ok": true},
     "push": {"ok": false, "problems": [{"service": "https://web.push.apple.com", "status": 403,
              "error": "HTTP 403: BadJwtToken", "at": "2026-03-02T12:00:00+00:00"}]}}

- database: one ``SELECT 1`` through the app's engine.
- scheduler: the age of the newest tick. A process with the scheduler
  inside reads its own (webapp.jobs.heartbeat.own_beat); a web
  process with ``UNKNOT_SCHEDULER=off`` reads the newest row of the
  ``heartbeats`` table, stamped by every worker after every pass, so it
  reports on the workers wherever they run. Stale when older than
  ``HEALTH_MAX_HEARTBEAT_AGE`` seconds (default: 120, or 10 ticks if more),
  or when no tick has ever been recorded.
- push: push services that refused us as misconfigured (outcome ``config``
  in the delivery log: 401/403, a refused certificate, HTTP/2 only) within
  the last 15 minutes, with no delivery accepted by them since. The VAPID
  key or subject, or the CA bundle, needs an operator: "degraded", still 200
  (the web process itself is fine, and a load balancer must not drop it).
"""
import time
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from webapp import clock
from webapp.config import settings
from webapp.jobs import heartbeat
from webapp.store.db import database
from webapp.store.models import Delivery

bp = Blueprint("health", __name__)

PROBLEM_WINDOW = timedelta(minutes=15)


@bp.get("/healthz")
def healthz():
    app = current_app._get_current_object()
    now = datetime.now(timezone.utc)
    body = {"status": "ok"}
    healthy = True

    started = time.perf_counter()
    newest = workers = None
    problems = []
    max_age = settings(app).max_heartbeat_age
    try:
        with database(app).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            newest, workers = heartbeat.newest(conn, now, max_age)
            problems = _push_problems(conn, clock.now(app))  # the clock deliveries are logged by
        body["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # any failure to reach the database
        healthy = False
        body["database"] = {"ok": False, "error": type(exc).__name__}

    own = heartbeat.own_beat(app)
    in_process = app.extensions.get("unknot_scheduler") is not None
    if in_process or own is not None:
        beat, source = own, "in_process"
    else:
        beat, source = newest, "workers"
    if isinstance(beat, datetime) and beat.tzinfo is None:
        beat = beat.replace(tzinfo=timezone.utc)
    age = None if beat is None else round(max(0.0, (now - beat).total_seconds()), 1)
    scheduler_ok = age is not None and age <= max_age
    body["scheduler"] = {"in_process": in_process, "source": source, "age_seconds": age,
                         "max_age_seconds": max_age, "workers": workers, "ok": scheduler_ok}
    healthy = healthy and scheduler_ok
    body["push"] = {"ok": not problems, "problems": problems}
    if not healthy:
        body["status"] = "failing"
    elif problems:
        body["status"] = "degraded"
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _push_problems(conn, now):
    """Services whose latest answer in the window was a configuration error."""
    latest = conn.execute(
        select(Delivery.service, func.max(Delivery.sent_at))
        .where(Delivery.outcome == "config", Delivery.sent_at >= now - PROBLEM_WINDOW)
        .group_by(Delivery.service)
    ).all()
    problems = []
    for service, at in sorted(latest):
        accepted_since = conn.scalar(select(Delivery.id).where(
            Delivery.service == service, Delivery.outcome == "ok", Delivery.sent_at > at).limit(1))
        if accepted_since is None:
            status, error = conn.execute(select(Delivery.status, Delivery.error).where(
                Delivery.service == service, Delivery.outcome == "config", Delivery.sent_at == at).limit(1)).one()
            problems.append({"service": service, "status": status, "error": error,
                             "at": (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()})
    return problems


def init_app(app):
    app.register_blueprint(bp)
