"""Where a pass's CPU goes: per message, by process, beside the crypto limit.

First, the crypto alone in one process and in one process per core at
once: together they reach less than cores x (b) where the cores share what
encryption needs, and that is the most a pass's encryption could reach.

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

Where the pass's time goes, from the stand-in's log of when each request
arrived: requests per 50 ms from the pass's start; the first one's time
(forking the sender processes, the first claim, the first encryptions);
the steady rate (the middle half of the requests, against (b)); and the
time from the last request to the pass's end (its answer, a latency away,
and the last writes); when each sender process had used 95 % of its CPU
(it ran out of messages to encrypt: the pass cannot end before the last
one does, and a core idles while the other works on); the connections
open to the stand-in at the pass's end (each one opened cost a connect,
over TLS a handshake) against the requests in flight at the steady rate
(Little's law: what the pass needed at once); the claims, and
how many found nothing, with their time; and the worker's pauses for
garbage collection during the pass (their number, their total
and the longest). ``--far-windows``, ``--ahead`` and ``--queued`` set
webapp.push.pool.FAR_WINDOWS, webapp.jobs.dispatch.AHEAD and
webapp.push.sender.QUEUED for a comparison; ``--no-gc-freeze`` makes the
sender's ``gc.freeze()`` before it forks do nothing, as before it was
there.

    python -m bench.budget                      # N = 5,000, 50 ms, PostgreSQL if reachable
    python -m bench.budget --n 2000 --db sqlite --latency-ms 0
    python -m bench.budget --far-windows 1
    python -m bench.budget --queued 1000        # every chunk handed out at once
    python -m bench.budget --no-gc-freeze
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time

from bench import common, fanout
from bench.standin import StandIn

def _on_cpu(pid: int) -> float:
    """Seconds a process's main thread has run (/proc's schedstat: in
    nanoseconds, where stat counts 10 ms ticks; a sender process's work is
    on its main thread); 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _sender_pids(worker: int, standin: int) -> list[int]:
    """The worker's sender processes: its children but the stand-in."""
    return [p for p in common.child_pids(worker) if p != standin]


def _senders_series(stop: threading.Event, worker: int, standin: int, into: dict, every=0.01):
    """Each sender process's CPU seconds so far, every ``every`` seconds
    until ``stop``: {pid: [(perf_counter, seconds)]}. It runs in the
    worker's process: two small reads a sample (~20 µs), 0.2 % of a core."""
    pids: list[int] = []
    while not stop.wait(every):
        if not pids:
            pids = _sender_pids(worker, standin)
        now = time.perf_counter()
        for pid in pids:
            into.setdefault(pid, []).append((now, _on_cpu(pid)))


def _connections(standin: int) -> int:
    """The stand-in's open connections (its sockets but the listening one):
    at a pass's end, every connection its sender processes still hold."""
    sockets = 0
    try:
        fds = os.listdir(f"/proc/{standin}/fd")
    except OSError:
        return 0
    for fd in fds:
        try:  # a connection may close between the listing and this look
            sockets += os.readlink(f"/proc/{standin}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return max(0, sockets - 1)


def _done_by(samples: list, started: float, share=0.95) -> float:
    """Milliseconds into the pass by which a process had used ``share`` of
    the CPU it used during it: when it ran out of messages to encrypt
    (what is left is reading the last answers, a latency later)."""
    first, last = samples[0][1], samples[-1][1]
    for t, used in samples:
        if used - first >= share * (last - first):
            return 1000 * (t - started)
    return 1000 * (samples[-1][0] - started)


def _busy_series(stop: threading.Event, into: list, every=0.05):
    """How busy the cores were in each ``every`` seconds, until ``stop``."""
    last = common.idle_and_total()
    while not stop.wait(every):
        now = common.idle_and_total()
        into.append(1 - (now[0] - last[0]) / max(1, now[1] - last[1]))
        last = now


class _Pauses:
    """This process's garbage collections while it is on: how many, how
    long in all and the longest (its generation and milliseconds). Every
    thread of the process waits for a collection to end."""

    def __init__(self):
        self.count, self.total, self.longest, self.generation, self._started = 0, 0.0, 0.0, 0, None

    def __enter__(self):
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._note)

    def _note(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:  # a collection that began before this was on
            return
        took = 1000 * (time.perf_counter() - self._started)
        self.count += 1
        self.total += took
        if took > self.longest:
            self.longest, self.generation = took, info["generation"]


def _crypto_on_every_core(subs, signer, cores: int) -> float:
    """(b) in ``cores`` forked processes at once, each over all of ``subs``:
    msg/s together. Less than ``cores`` times (b) where the cores share what
    encryption needs (a physical core's two threads, a host's other guests):
    the most a pass's encryption could reach here, with nothing else to do."""
    reader, writer = os.pipe()
    children = []
    for _ in range(cores):
        pid = os.fork()
        if pid == 0:
            try:
                os.write(writer, f"{fanout.crypto_only(subs, signer):.3f}\n".encode())
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(writer)
    with os.fdopen(reader) as lines:
        return sum(float(line) for line in lines)


def _timeline(times: list[float], started: float, ended: float, crypto: float) -> dict:
    """Where a pass's time went, from the stand-in's arrival times (epoch seconds)."""
    times = sorted(times)
    series = [0] * (int((times[-1] - started) / 0.05) + 1)
    for t in times:
        series[max(0, int((t - started) / 0.05))] += 1
    low, high = len(times) // 4, 3 * len(times) // 4
    steady = (high - low) / max(1e-9, times[high] - times[low])
    return {"sent_series": series, "first_ms": 1000 * (times[0] - started),
            "steady_ratio": steady * crypto, "steady_rate": steady, "tail_ms": 1000 * (ended - times[-1])}


def measure(n=5000, latency_ms=50.0, db="postgresql", passes=3, quiet=False, ahead=None, far_windows=None,
            gc_freeze=True, queued=None):
    out = print if not quiet else (lambda *a, **k: None)
    import tempfile

    from webapp.jobs import dispatch
    from webapp.jobs.senders import usable_cores
    from webapp.push import pool, sender
    from webapp.push.vapid import VapidSigner, load_or_create_vapid_key

    if db == "postgresql" and not common.pg_reachable():
        db = "sqlite"
    signer = VapidSigner(load_or_create_vapid_key(os.path.join(tempfile.mkdtemp(), "k.pem")),
                         "mailto:bench@unknot.app")
    rows = []
    out(f"CPU per message of one pass over N = {n:,}, {db}, push service {latency_ms:g} ms away, "
        f"{usable_cores()} cores, default settings" + ("" if ahead is None else f" but AHEAD = {ahead}")
        + ("" if far_windows is None else f" but FAR_WINDOWS = {far_windows}")
        + ("" if queued is None else f" but QUEUED = {queued}")
        + ("" if gc_freeze else " but no gc.freeze() before the fork"))
    with StandIn(latency=latency_ms / 1000) as standin:
        subs = common.subscriptions(standin.origin, n)
        fanout.unknot_pass(db, standin.origin, common.subscriptions(standin.origin, 200, prefix="w"))
        gc.unfreeze()  # each pass below starts with nothing frozen, as a new `reminders dispatch` does
        me, real, default_ahead, default_far = os.getpid(), dispatch.run_pass, dispatch.AHEAD, pool.FAR_WINDOWS
        real_claim = dispatch.claim
        default_queued = sender.QUEUED
        freeze = gc.freeze
        cores, alone = usable_cores(), fanout.crypto_only(subs, signer)
        together = _crypto_on_every_core(subs, signer, cores)
        out(f"  crypto alone, one process {alone:,.0f} msg/s; one on each of the {cores} cores at once "
            f"{together:,.0f} msg/s together = {together / alone:.2f} x one (the most a pass's encryption could reach)")

        def watched():
            return [me, standin.process.pid, *common.pids_named("postgres")]

        for _ in range(passes):
            standin.reset()
            started = time.process_time()
            fanout.crypto_only(subs, signer)
            crypto = (time.process_time() - started) / n
            seen = {}

            def claim(session, moment, limit, **kw):
                started = time.perf_counter()
                jobs = real_claim(session, moment, limit, **kw)
                seen["claims"].append((len(jobs), time.perf_counter() - started))
                return jobs

            def run_pass(app, **kw):
                seen["claims"] = []
                seen["before"] = {p: common.cpu_seconds(p) for p in watched()}
                seen["idle"] = common.idle_and_total()
                seen["start"], seen["thread"], seen["epoch"] = time.perf_counter(), time.thread_time(), time.time()
                stop, seen["series"], seen["per_sender"] = threading.Event(), [], {}
                sampler = threading.Thread(target=_busy_series, args=(stop, seen["series"]))
                per_sender = threading.Thread(target=_senders_series,
                                              args=(stop, me, standin.process.pid, seen["per_sender"]))
                sampler.start()
                per_sender.start()
                try:
                    with _Pauses() as seen["pauses"]:
                        return real(app, **kw)
                finally:
                    seen["thread"] = time.thread_time() - seen["thread"]
                    stop.set()
                    sampler.join()
                    per_sender.join()
                    seen["connections"] = _connections(standin.process.pid)
                    # The sender processes end with the pass's app: read them now.
                    seen["senders"] = sum(common.cpu_seconds(p) for p in _sender_pids(me, standin.process.pid))
                    seen["wall"], seen["ended"] = time.perf_counter() - seen["start"], time.time()
                    idle, total = common.idle_and_total()
                    seen["busy"] = 1 - (idle - seen["idle"][0]) / max(1, total - seen["idle"][1])
                    seen["after"] = {p: common.cpu_seconds(p) for p in watched()}

            dispatch.run_pass, dispatch.claim = run_pass, claim
            dispatch.AHEAD = default_ahead if ahead is None else ahead
            pool.FAR_WINDOWS = default_far if far_windows is None else far_windows
            sender.QUEUED = default_queued if queued is None else queued
            gc.freeze = freeze if gc_freeze else (lambda: None)
            try:
                rate, counts = fanout.unknot_pass(db, standin.origin, subs)
            finally:
                dispatch.run_pass, dispatch.AHEAD, pool.FAR_WINDOWS = real, default_ahead, default_far
                dispatch.claim = real_claim
                sender.QUEUED = default_queued
                gc.freeze = freeze
                gc.unfreeze()  # the next pass starts as this one did
            assert counts == {"ok": n}, counts
            before, after = seen["before"], seen["after"]
            used = {"worker": after[me] - before[me],
                    "senders": seen["senders"],
                    "stand-in": after[standin.process.pid] - before[standin.process.pid],
                    "database": sum(after[p] - before.get(p, 0.0) for p in after
                                    if p not in (me, standin.process.pid))}
            whole = sum(used.values()) / n
            row = {"rate": rate, "crypto_us": 1e6 * crypto, "cores_x": together / alone, "whole_us": 1e6 * whole,
                   "busy": seen["busy"], "dispatching_us": 1e6 * seen["thread"] / n, "series": seen["series"],
                   **{k + "_us": 1e6 * v / n for k, v in used.items()},
                   "gc_count": seen["pauses"].count, "gc_total_ms": seen["pauses"].total,
                   "gc_longest_ms": seen["pauses"].longest,
                   "gc_generation": seen["pauses"].generation,
                   "connections": seen["connections"],
                   "claims": len(seen["claims"]), "empty_claims": sum(1 for n, _ in seen["claims"] if not n),
                   "empty_claims_ms": 1000 * sum(t for n, t in seen["claims"] if not n),
                   "senders_done_ms": sorted(_done_by(v, seen["start"]) for v in seen["per_sender"].values() if v),
                   **_timeline([t for t, _ in standin.stats(times=True)["times"]], seen["epoch"], seen["ended"],
                               crypto)}
            rows.append(row)
            out(f"  {rate:6,.0f} msg/s; µs a message: crypto alone {row['crypto_us']:4.0f} | pass "
                f"{row['whole_us']:4.0f} = worker {row['worker_us']:3.0f} (its dispatching thread "
                f"{row['dispatching_us']:3.0f}) + senders {row['senders_us']:4.0f} "
                f"+ stand-in {row['stand-in_us']:3.0f} + database {row['database_us']:3.0f}; cores busy "
                f"{100 * row['busy']:3.0f} %; at most {100 * usable_cores() * crypto / whole:3.0f} % of (b)")
            out("      cores busy, each 50 ms of the pass (%): " + " ".join(f"{100 * b:.0f}" for b in row["series"]))
            out("      requests the stand-in received, each 50 ms: " + " ".join(map(str, row["sent_series"])))
            out(f"      first request {row['first_ms']:.0f} ms into the pass; steady rate (the middle half of the "
                f"requests) {100 * row['steady_ratio']:.0f} % of (b); last request {row['tail_ms']:.0f} ms "
                "before the pass ended")
            done = row["senders_done_ms"]
            out("      each sender process had used 95 % of its CPU by (ms into the pass): "
                + ", ".join(f"{t:.0f}" for t in done)
                + (f" ({done[-1] - done[0]:.0f} ms apart)" if len(done) > 1 else ""))
            out(f"      connections open to the stand-in at the pass's end: {row['connections']}; requests in "
                f"flight at the steady rate (Little's law): {row['steady_rate'] * latency_ms / 1000:.0f}")
            out(f"      claims: {row['claims']}, of which {row['empty_claims']} found nothing "
                f"({row['empty_claims_ms']:.0f} ms in all)")
            out(f"      the worker's garbage collections during the pass: {row['gc_count']}, "
                f"{row['gc_total_ms']:.0f} ms in all, the longest {row['gc_longest_ms']:.1f} ms "
                f"(generation {row['gc_generation']})")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--ahead", type=int, default=None,
                        help="batches claimed ahead (webapp.jobs.dispatch.AHEAD) for a comparison")
    parser.add_argument("--far-windows", type=int, default=None,
                        help="windows before a service counts as far (webapp.push.pool.FAR_WINDOWS) for a comparison")
    parser.add_argument("--queued", type=int, default=None,
                        help="chunks a sender process may have waiting to be encrypted "
                             "(webapp.push.sender.QUEUED; 1000: all handed out at once) for a comparison")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="the sender's gc.freeze() before it forks does nothing, for a comparison")
    args = parser.parse_args(argv)
    measure(args.n, args.latency_ms, args.db, args.passes, ahead=args.ahead, far_windows=args.far_windows,
            gc_freeze=args.gc_freeze, queued=args.queued)


if __name__ == "__main__":
    sys.exit(main())
