"""The worker's database work alone: claims and result writes, per row.

N due rows are claimed in batches of 500 (webapp.jobs.claim) and each
batch's results written back as sent (webapp.jobs.results.apply), with no
sender: wall time per row of each step, this process's CPU (Python, the
driver) and the database server's (PostgreSQL's backend, from /proc).
``--fillfactor`` sets due_reminders' fillfactor first (PostgreSQL; 100 is
the server's own default, 70 what migration 0005 sets) to compare.
``--water-days`` gives each subscription GLASSES_A_DAY glasses in the water
log on each of that many past days (30: what UNKNOT_KEEP_LOGS_DAYS keeps),
as people who log their water have.

    python -m bench.claims                       # PostgreSQL if reachable, N = 5,000, 3 rounds
    python -m bench.claims --db sqlite --n 2000
    python -m bench.claims --fillfactor 100
    python -m bench.claims --water-days 30
"""
from __future__ import annotations

import argparse
import secrets
import sys
import time
from datetime import timedelta

from bench import common

ORIGIN = "http://127.0.0.1:9"
GLASSES_A_DAY = 6


def _log_water(app, ids, days):
    from sqlalchemy import insert, text

    from webapp.store.db import db
    from webapp.store.models import WaterLog

    if not days:
        return
    today = common.now()
    glasses = [today - timedelta(days=ago, hours=glass) for ago in range(days) for glass in range(GLASSES_A_DAY)]
    with app.app_context():
        for start in range(0, len(ids), 500):
            with db.begin() as session:
                session.execute(insert(WaterLog), [
                    {"subscription_id": sid, "at": at, "local_date": at.date().isoformat()}
                    for sid in ids[start:start + 500] for at in glasses])
        if db.engine.dialect.name == "postgresql":
            with db.begin() as session:  # the statistics a server that has kept the log for days has
                session.execute(text("ANALYZE water_log"))


def _round(app, n, backend_pid, prefix, water_days=0):
    from webapp.config import settings
    from webapp.jobs.claim import claim
    from webapp.jobs.results import apply
    from webapp.jobs.retry import RetryPolicy
    from webapp.jobs.transactions import in_transaction
    from webapp.reminders.kinds import registry
    from webapp.store.db import database

    ids = common.insert_due(app, common.subscriptions(ORIGIN, n, prefix=prefix), common.now() - timedelta(seconds=1))
    _log_water(app, ids, water_days)
    store, kinds, retry = database(app), registry(app), RetryPolicy.from_settings(settings(app))
    server = (lambda: common.cpu_seconds(backend_pid)) if backend_pid else (lambda: 0.0)
    spent = {k: 0.0 for k in ("claim_wall", "claim_cpu", "claim_server", "apply_wall", "apply_cpu", "apply_server")}
    moment = common.now()
    with app.app_context():
        while True:
            token = secrets.token_hex(16)
            marks = [(time.perf_counter(), time.process_time(), server())]
            jobs = in_transaction(store, lambda s: claim(s, moment, 500, lease=timedelta(seconds=60), token=token))
            marks.append((time.perf_counter(), time.process_time(), server()))
            if not jobs:
                break
            for job in jobs:
                job.started, job.outcome, job.status, job.tip, job.service = True, "ok", 201, 0, ORIGIN
            in_transaction(store, lambda s: apply(s, jobs=jobs, now=common.now(), token=token, kinds=kinds,
                                                  retry=retry))
            marks.append((time.perf_counter(), time.process_time(), server()))
            for step, (a, b) in (("claim", marks[0:2]), ("apply", marks[1:3])):
                spent[step + "_wall"] += b[0] - a[0]
                spent[step + "_cpu"] += b[1] - a[1]
                spent[step + "_server"] += b[2] - a[2]
    return {k: 1e6 * v / n for k, v in spent.items()}


def measure(n=5000, db="postgresql", rounds=3, fillfactor=None, quiet=False, pg_url=None, water_days=0):
    out = print if not quiet else (lambda *a, **k: None)
    from sqlalchemy import text

    from webapp.store.db import database

    if db == "postgresql" and not common.pg_reachable(pg_url or common.PG_URL):
        db = "sqlite"
    rows = []
    with common.database(db, pg_url) as (url, tmp):
        app = common.make_app(url, tmp, ORIGIN)
        try:
            backend, table = None, ""  # SQLite: the database is this process
            if db == "postgresql":
                with database(app).begin() as session:
                    if fillfactor is not None:
                        session.execute(text(f"ALTER TABLE due_reminders SET (fillfactor = {int(fillfactor)})"))
                    setting = session.execute(text(
                        "SELECT reloptions FROM pg_class WHERE oid = 'due_reminders'::regclass")).scalar()
                # One thread: the pool gives this connection back to every transaction below.
                with database(app).begin() as session:
                    backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
                table = f" (due_reminders: {setting})"
            out(f"claims and writes of N = {n:,} due rows, batches of 500, {db}{table}"
                + (f"; {GLASSES_A_DAY} glasses a day logged on each of {water_days} days" if water_days else ""))
            for i in range(rounds):
                r = {"db": db, **_round(app, n, backend, prefix=f"r{i}", water_days=water_days)}
                rows.append(r)
                out(f"  µs a row: claim {r['claim_wall']:5.1f} (this process {r['claim_cpu']:5.1f}, server "
                    f"{r['claim_server']:5.1f}) | write {r['apply_wall']:5.1f} (this process {r['apply_cpu']:5.1f}, "
                    f"server {r['apply_server']:5.1f})")
        finally:
            common.close_app(app)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fillfactor", type=int, default=None)
    parser.add_argument("--water-days", type=int, default=0, help="days of water log for each subscription")
    args = parser.parse_args(argv)
    measure(args.n, args.db, args.rounds, args.fillfactor, water_days=args.water_days)


if __name__ == "__main__":
    sys.exit(main())
