"""Shared by the benchmarks: an Unknot app on SQLite or PostgreSQL, and many
real P-256 subscriptions with due reminders, inserted in bulk."""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone  # noqa: F401 (timedelta re-exported)

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import insert

UTC = timezone.utc
PG_URL = os.environ.get("UNKNOT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscriptions(origin: str, n: int, prefix: str = "s") -> list[dict]:
    """n PushSubscription.toJSON() with real P-256 keys, endpoints at ``origin``."""
    out = []
    for i in range(n):
        point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        out.append({"endpoint": f"{origin}/push/{prefix}{i}",
                    "keys": {"p256dh": b64(point), "auth": b64(os.urandom(16))}})
    return out


def awake_plan(now: datetime) -> dict:
    from webapp.reminders.plan import default_plan

    plan = default_plan("UTC")
    plan["quiet"] = {"from": (now + timedelta(hours=6)).strftime("%H:%M"),
                     "until": (now + timedelta(hours=7)).strftime("%H:%M")}
    plan["hydration"].update({"from": "00:00", "until": "23:59", "every_minutes": 120, "goal_glasses": 0})
    plan["stretch"] = {"enabled": False, "at": []}
    return plan


def insert_due(app, subs: list[dict], due_at, *, chunk=5000) -> list[str]:
    """Subscriptions and one due hydration row each; due_at one moment or one per sub."""
    from webapp.store.db import db
    from webapp.store.models import DueReminder, Subscription

    dues = due_at if isinstance(due_at, list) else [due_at] * len(subs)
    plan = awake_plan(min(dues))
    ids = [secrets.token_hex(16) for _ in subs]
    with app.app_context():
        for start in range(0, len(subs), chunk):
            part = range(start, min(start + chunk, len(subs)))
            with db.begin() as session:
                session.execute(insert(Subscription), [
                    {"id": ids[i], "endpoint": subs[i]["endpoint"], "p256dh": subs[i]["keys"]["p256dh"],
                     "auth": subs[i]["keys"]["auth"], "token_hash": secrets.token_hex(32), "plan": plan,
                     "created_at": dues[i]} for i in part])
                session.execute(insert(DueReminder), [
                    {"subscription_id": ids[i], "kind": "hydration", "due_at": dues[i], "occurrence": 0,
                     "attempts": 0, "expires_at": dues[i] + timedelta(hours=1)} for i in part])
    return ids


def pg_reachable(url=PG_URL) -> bool:
    try:
        import psycopg

        with psycopg.connect(_conninfo(url), connect_timeout=2):
            return True
    except Exception:
        return False


def _conninfo(url):
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)


@contextmanager
def database(kind: str, pg_url: str | None = None):
    """A fresh database URL: a SQLite file in a temp dir, or a PostgreSQL schema."""
    base = pg_url or PG_URL
    tmp = tempfile.mkdtemp(prefix="unknot-bench-")
    try:
        if kind == "sqlite":
            yield f"sqlite:///{tmp}/bench.sqlite", tmp
            return
        import psycopg
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_conninfo(base), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False), tmp
        finally:
            with psycopg.connect(_conninfo(base), autocommit=True) as conn:
                conn.execute("SET lock_timeout = '10s'")
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_app(url: str, tmp: str, origin: str, **config):
    from webapp import create_app

    settings = {
        "TESTING": True, "SCHEDULER": "off", "DATABASE_URL": url,
        "VAPID_PRIVATE_KEY": os.path.join(tmp, "vapid.pem"), "VAPID_SUBJECT": "mailto:bench@unknot.app",
        "PUSH_ALLOWED_ORIGINS": origin, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
    }
    settings.update(config)
    return create_app(settings)


def close_app(app):
    from webapp.jobs import senders

    senders.close(app)
    app.extensions["unknot_db"].engine.dispose()


def now():
    return datetime.now(UTC)


def backends(choice: str) -> list[str]:
    if choice == "both":
        return ["sqlite", "postgresql"] if pg_reachable() else ["sqlite"]
    return [choice]


# -- worker processes and a burst of due reminders ---------------------------------------

def worker_env(url, tmp, origin, **settings):
    env = {**os.environ, "UNKNOT_DATABASE_URL": url, "UNKNOT_VAPID_PRIVATE_KEY": os.path.join(tmp, "vapid.pem"),
           "UNKNOT_VAPID_SUBJECT": "mailto:bench@unknot.app", "UNKNOT_PUSH_ALLOWED_ORIGINS": origin,
           "UNKNOT_SECRET_KEY": "bench-secret-key", "PYTHONUNBUFFERED": "1"}
    env.update({f"UNKNOT_{k}": str(v) for k, v in settings.items()})
    return env


def start_workers(n, env, tmp):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    procs = []
    for i in range(n):
        log = open(os.path.join(tmp, f"worker-{i}.log"), "wb")
        procs.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "webapp", "reminders", "worker"],
                                      cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        log.close()
    return procs


def stop_workers(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait(10)


def burst(app, url, tmp, standin, *, n_burst, workers=1, lead=2.0, timeout=180.0, **settings):
    """Make n_burst already-stored reminders due together at T0 = now + lead,
    with ``workers`` worker processes running; return lateness and throughput
    as seen by the push stand-in (receive time minus due time)."""
    import time as _time

    from sqlalchemy import func, select, update

    from webapp.store.db import db
    from webapp.store.models import DueReminder, Heartbeat

    procs = start_workers(workers, worker_env(url, tmp, standin.origin, **settings), tmp)
    try:
        deadline = _time.monotonic() + 60
        with app.app_context():
            while True:  # every worker has ticked at least once
                with db.begin() as session:
                    if session.scalar(select(func.count()).select_from(Heartbeat)) >= workers:
                        break
                if _time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("workers did not start: see " + tmp)
                _time.sleep(0.1)
            standin.reset()
            t0 = datetime.now(UTC) + timedelta(seconds=lead)
            with db.begin() as session:
                ids = select(DueReminder.subscription_id).order_by(DueReminder.subscription_id).limit(n_burst)
                session.execute(update(DueReminder).where(DueReminder.subscription_id.in_(ids))
                                .values(due_at=t0, expires_at=t0 + timedelta(hours=1)))
        deadline = _time.monotonic() + lead + timeout
        while standin.count() < n_burst and _time.monotonic() < deadline:
            _time.sleep(0.2)
        _time.sleep(1.0)  # anything sent twice would arrive now
        stats = standin.stats(times=True)
        peak = [peak_rss(p.pid) for p in procs]
    finally:
        stop_workers(procs)
    late = sorted(t - t0.timestamp() for t, _ in stats["times"])
    first, last = (late[0], late[-1]) if late else (0.0, 0.0)

    def pct(p):
        return late[min(len(late) - 1, int(p / 100 * len(late)))] if late else float("nan")

    return {
        "count": stats["count"], "distinct": stats["distinct"], "repeats": len(stats["repeats"]),
        "p50": pct(50), "p99": pct(99), "max": last, "first": first,
        "rate": len(late) / max(1e-9, last - first) if len(late) > 1 else float("nan"),
        "rate_from_due": len(late) / max(1e-9, last),
        "rss_mb": max(p[0] for p in peak), "rss_children_mb": max(p[1] for p in peak),
    }


def peak_rss(pid):
    """(peak RSS of process ``pid``, sum of its children's peaks), in MB (Linux /proc)."""
    def hwm(p):
        try:
            with open(f"/proc/{p}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
        except (OSError, StopIteration):
            return 0.0

    children = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += f.read().split()
    except OSError:
        pass
    return hwm(pid), sum(hwm(c) for c in children)


# -- CPU from /proc (Linux), for bench/budget.py, bench/sender.py and bench/claims.py --------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Seconds of CPU (user + system) a process has used; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def pids_named(prefix: str) -> list[int]:
    """Processes whose name starts with ``prefix`` (the database server's: "postgres")."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().startswith(prefix):
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def child_pids(pid: int) -> list[int]:
    """The processes ``pid``'s main thread forked."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def idle_and_total() -> tuple[float, float]:
    """The machine's idle and total CPU time so far, in clock ticks."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return values[3] + values[4], sum(values)
