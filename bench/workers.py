"""The same burst (10,000 reminders due at the same second) sent by 1 and by
2 worker processes (`flask --app webapp reminders worker`) sharing one
PostgreSQL: throughput ratio (goal >= 1.6 x) and exactly one delivery per
reminder (the stand-in counts every path it receives).

On a 2-core machine the push stand-in and PostgreSQL run on the same two
cores as the workers; the stand-in only reads each request and answers 201.

    python -m bench.workers
    python -m bench.workers --burst 1000
"""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from bench import common
from bench.standin import StandIn


def measure(burst=10_000, db="postgresql", pg_url=None, quiet=False, counts=(1, 2)):
    out = print if not quiet else (lambda *a, **k: None)
    results = {}
    out(f"burst of {burst:,} due at the same second, on {db}, workers: {', '.join(map(str, counts))}")
    with StandIn() as standin:
        people = common.subscriptions(standin.origin, burst)
        for n in counts:
            with common.database(db, pg_url) as (url, tmp):
                app = common.make_app(url, tmp, standin.origin)
                try:
                    common.insert_due(app, people, common.now() + timedelta(days=1))
                    r = common.burst(app, url, tmp, standin, n_burst=burst, workers=n)
                finally:
                    common.close_app(app)
            once = r["count"] == burst and r["distinct"] == burst and r["repeats"] == 0
            results[n] = r
            out(f"  {n} worker{'s' if n > 1 else ' '}: {r['rate']:7,.0f} msg/s (first to last receive), "
                f"{r['rate_from_due']:7,.0f} msg/s from the due time; lateness p99 {r['p99']:.2f} s; "
                f"{r['count']:,} received, {r['distinct']:,} distinct, {r['repeats']} twice"
                f"   [exactly once: {'yes' if once else 'NO'}]")
    if 1 in results and 2 in results:
        ratio = results[2]["rate"] / results[1]["rate"]
        out(f"  2 workers / 1 worker = {ratio:.2f} x   [goal >= 1.6 x: {'met' if ratio >= 1.6 else 'NOT met'}]")
        results["ratio"] = ratio
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args(argv)
    measure(args.burst, args.db)


if __name__ == "__main__":
    sys.exit(main())
