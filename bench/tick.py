"""A tick with 100,000 subscriptions stored, and the lateness of a burst.

  1. 100,000 subscriptions with plans, bulk-inserted, each with a reminder
     due tomorrow: the time of one tick (a dispatch pass, the heartbeat and
     the look-ahead for the next due time) with nothing due. Goal <= 50 ms.
  2. 10,000 of them made due at the same second; one worker process
     (`flask --app webapp reminders worker`, default settings: a sender
     process per core) sends them to the push stand-in: lateness = receive
     time at the stand-in - due time, and the worker's peak RSS (its sender
     processes apart). Goal p99 <= 5 s; for a burst of 100,000 (--subs
     100000 --burst 100000), p99 <= 30 s and <= 300 MB.

Both on SQLite and, when reachable, PostgreSQL.

    python -m bench.tick
    python -m bench.tick --subs 100000 --burst 100000 --db postgresql
    python -m bench.tick --subs 2000 --burst 500 --db sqlite
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta

from bench import common
from bench.standin import StandIn


def measure(subs=100_000, burst=10_000, db="both", pg_url=None, quiet=False, ticks=30, send_processes=None):
    out = print if not quiet else (lambda *a, **k: None)
    from webapp.jobs import scheduler

    results = {}
    backends = [db] if db != "both" else (["sqlite", "postgresql"] if common.pg_reachable(pg_url or common.PG_URL)
                                          else ["sqlite"])
    out(f"tick with {subs:,} subscriptions, then a burst of {burst:,} due at the same second")
    with StandIn() as standin:
        made = time.perf_counter()
        people = common.subscriptions(standin.origin, subs)
        out(f"  ({subs:,} real P-256 subscriptions made in {time.perf_counter() - made:.1f} s)")
        for backend in backends:
            with common.database(backend, pg_url) as (url, tmp):
                app = common.make_app(url, tmp, standin.origin)
                try:
                    started = time.perf_counter()
                    common.insert_due(app, people, common.now() + timedelta(days=1))
                    out(f"  {backend}: {subs:,} subscriptions inserted in {time.perf_counter() - started:.1f} s")
                    times = []
                    for _ in range(ticks):
                        started = time.perf_counter()
                        scheduler.tick(app)
                        times.append((time.perf_counter() - started) * 1000)
                    times.sort()
                    med, p99 = statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]
                    out(f"  {backend}: empty tick median {med:.1f} ms, max of {ticks} {times[-1]:.1f} ms"
                        f"   [goal <= 50 ms: {'met' if p99 <= 50 else 'NOT met'}]")
                    settings = {} if send_processes is None else {"SEND_PROCESSES": send_processes}
                    r = common.burst(app, url, tmp, standin, n_burst=burst, workers=1,
                                     timeout=max(180.0, burst / 200), **settings)
                    goal = 5 if burst <= 10_000 else 30
                    ok = r["p99"] <= goal and r["count"] == burst and r["distinct"] == burst
                    how = "defaults" if send_processes is None else f"UNKNOT_SEND_PROCESSES={send_processes}"
                    out(f"  {backend}: burst of {burst:,}, one worker ({how}): lateness p50 {r['p50']:.2f} s, "
                        f"p99 {r['p99']:.2f} s, max {r['max']:.2f} s; {r['count']:,} received, "
                        f"{r['distinct']:,} distinct; worker peak RSS {r['rss_mb']:.0f} MB "
                        f"(+ {r['rss_children_mb']:.0f} MB in its sender processes)"
                        f"   [goal p99 <= {goal} s: {'met' if ok else 'NOT met'}]")
                    results[backend] = {"tick_ms_median": med, "tick_ms_p99": p99, **r}
                finally:
                    common.close_app(app)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subs", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--send-processes", type=int, default=None,
                        help="the worker's UNKNOT_SEND_PROCESSES (default: not set, i.e. every core)")
    args = parser.parse_args(argv)
    measure(args.subs, args.burst, args.db, send_processes=args.send_processes)


if __name__ == "__main__":
    sys.exit(main())
