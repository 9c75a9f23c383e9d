"""Where a pass's CPU goes: per message, by process, beside the crypto limit.

One dispatch pass (default settings) over N due rows, the push stand-in
``--latency-ms`` away, measured as bench/fanout.py measures (c); around it,
the CPU time (user + system, from /proc) of the worker (this process: its
dispatching thread and the thread that talks to the sender processes), its
sender processes, the stand-in and the database server's processes, per
message sent, beside what (b), the crypto alone, costs per message on one
core; and how busy the machine's cores were during the pass. With C cores,
a pass can reach at most C x (b)'s cost / the whole cost per message of
(b)'s rate, and less when the cores idle (its start, and its last answers,
a latency away).

    python -m bench.budget                      # N = 5,000, 50 ms, PostgreSQL if reachable
    python -m bench.budget --n 2000 --db sqlite --latency-ms 0
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from bench import common, fanout
from bench.standin import StandIn

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system) a process has used; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _named(prefix: str) -> list[int]:
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


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _idle_and_total() -> tuple[float, float]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return values[3] + values[4], sum(values)


def measure(n=5000, latency_ms=50.0, db="postgresql", passes=3, quiet=False):
    out = print if not quiet else (lambda *a, **k: None)
    import tempfile

    from webapp.jobs import dispatch
    from webapp.jobs.senders import usable_cores
    from webapp.push.vapid import VapidSigner, load_or_create_vapid_key

    if db == "postgresql" and not common.pg_reachable():
        db = "sqlite"
    signer = VapidSigner(load_or_create_vapid_key(os.path.join(tempfile.mkdtemp(), "k.pem")),
                         "mailto:bench@unknot.app")
    rows = []
    out(f"CPU per message of one pass over N = {n:,}, {db}, push service {latency_ms:g} ms away, "
        f"{usable_cores()} cores, default settings")
    with StandIn(latency=latency_ms / 1000) as standin:
        subs = common.subscriptions(standin.origin, n)
        fanout.unknot_pass(db, standin.origin, common.subscriptions(standin.origin, 200, prefix="w"))
        me, real = os.getpid(), dispatch.run_pass
        for _ in range(passes):
            standin.reset()
            started = time.process_time()
            fanout.crypto_only(subs, signer)
            crypto = (time.process_time() - started) / n
            seen = {}

            def run_pass(app, **kw):
                seen["before"] = {p: _cpu(p) for p in [me, standin.process.pid, *_named("postgres")]}
                seen["idle"] = _idle_and_total()
                seen["wall"] = time.perf_counter()
                try:
                    return real(app, **kw)
                finally:
                    # The sender processes end with the pass's app: read them now.
                    seen["senders"] = sum(_cpu(p) for p in _children(me) if p != standin.process.pid)
                    seen["wall"] = time.perf_counter() - seen["wall"]
                    idle, total = _idle_and_total()
                    seen["busy"] = 1 - (idle - seen["idle"][0]) / max(1, total - seen["idle"][1])
                    seen["after"] = {p: _cpu(p) for p in [me, standin.process.pid, *_named("postgres")]}

            dispatch.run_pass = run_pass
            try:
                rate, counts = fanout.unknot_pass(db, standin.origin, subs)
            finally:
                dispatch.run_pass = real
            assert counts == {"ok": n}, counts
            before, after = seen["before"], seen["after"]
            used = {"worker": after[me] - before[me],
                    "senders": seen["senders"],
                    "stand-in": after[standin.process.pid] - before[standin.process.pid],
                    "database": sum(after[p] - before.get(p, 0.0) for p in after
                                    if p not in (me, standin.process.pid))}
            whole = sum(used.values()) / n
            row = {"rate": rate, "crypto_us": 1e6 * crypto, "whole_us": 1e6 * whole, "busy": seen["busy"],
                   **{k + "_us": 1e6 * v / n for k, v in used.items()}}
            rows.append(row)
            out(f"  {rate:6,.0f} msg/s; µs a message: crypto alone {row['crypto_us']:4.0f} | pass "
                f"{row['whole_us']:4.0f} = worker {row['worker_us']:3.0f} + senders {row['senders_us']:4.0f} "
                f"+ stand-in {row['stand-in_us']:3.0f} + database {row['database_us']:3.0f}; cores busy "
                f"{100 * row['busy']:3.0f} %; at most {100 * usable_cores() * crypto / whole:3.0f} % of (b)")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args(argv)
    measure(args.n, args.latency_ms, args.db, args.passes)


if __name__ == "__main__":
    sys.exit(main())
