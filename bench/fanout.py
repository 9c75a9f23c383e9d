"""Push fan-out, side by side in one run, against a loopback push stand-in:

  (a) a naive loop calling pywebpush.webpush() for each message,
  (b) the crypto alone (encrypt + VAPID header, no HTTP, one core): the limit,
      each subscriber's key loaded as the message meets it, as in (c),
  (c) one Unknot dispatch pass (dispatch.run_pass, as `reminders dispatch`
      runs it) over N due rows in a real database (SQLite and, when
      reachable, PostgreSQL), with default settings (a sender process per
      core, 1,024 in flight) and, if asked, other UNKNOT_SEND_PROCESSES.

Then with the push service 50 ms away (the stand-in waits before each
answer): (c) with default settings against (b) and against a sequential
loop; (b) is measured right before and right after each pass (this
machine's speed drifts from one second to the next when it is shared),
and the median of ``--repeat`` such ratios is shown with their range and
the range of every measure of (b) in between (how far the machine's speed
moved during the run).
Goals (DESIGN.md): c >= 4 x a and >= 50 % of b; at 50 ms, c >= 80 % of b
(N >= 3,000) and >= 30 x sequential.

    python -m bench.fanout            # N = 5,000
    python -m bench.fanout --n 3000,5000,20000 --naive-n 50 --seq-n 20 --repeat 9   # and what a pass pays
    python -m bench.fanout --n 200 --seq-n 20 --latency-ms 50 --db sqlite --processes default,0
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench import common
from bench.standin import StandIn

PAYLOAD = (b'{"kind":"hydration","title":"Time for a glass of water","body":"Sip a glass now: '
           b'muscles that are short of water cramp more easily.","url":"/reminders?act=hydration",'
           b'"tag":"hydration"}')


def naive(subs, key_pem_path, n):
    """(a) pywebpush.webpush() per message: new connection, new signature each time."""
    from py_vapid import Vapid
    from pywebpush import webpush

    vapid = Vapid.from_file(key_pem_path)
    started = time.perf_counter()
    for sub in subs[:n]:
        webpush(sub, data=PAYLOAD.decode(), vapid_private_key=vapid,
                vapid_claims={"sub": "mailto:bench@unknot.app"}, ttl=3600,
                headers={"Urgency": "normal", "Topic": "unknot-hydration"}, timeout=10)
    return n / (time.perf_counter() - started)


def crypto_only(subs, signer, fresh_signature=False, keys_cached=False):
    """(b) what every message must cost at least: aes128gcm for its subscriber
    (push.encrypt), plus the VAPID header (cached per origin, as Unknot does;
    or signed anew per message, as pywebpush does).

    Each subscriber's public key is loaded as the message meets it (about
    as costly as the encryption itself), as in a pass over more
    subscriptions than push.subscriber_keys caches; ``keys_cached`` times
    a second round with every key already loaded. The cache is emptied
    afterwards, so that a pass's sender processes, forked from this
    process, do not inherit keys this measurement loaded."""
    from webapp.push.message import encrypt, origin_of, subscriber_keys

    subscriber_keys.cache_clear()
    if keys_cached:
        for sub in subs:
            subscriber_keys(sub["keys"]["p256dh"], sub["keys"]["auth"])
    started = time.perf_counter()
    for sub in subs:
        encrypt(sub["keys"]["p256dh"], sub["keys"]["auth"], PAYLOAD)
        origin = origin_of(sub["endpoint"])
        if fresh_signature:
            signer._jwt(origin, int(time.time()) + 3600)
        else:
            signer.header(origin)
    took = time.perf_counter() - started
    subscriber_keys.cache_clear()
    return len(subs) / took


def unknot_pass(backend, origin, subs, **config):
    """(c) one real dispatch pass over len(subs) due rows, in a process set
    up as `reminders dispatch` sets itself up, meeting every subscriber's
    key for the first time, as (b) does; (rate, counts)."""
    from webapp.jobs import dispatch
    from webapp.push.message import subscriber_keys

    subscriber_keys.cache_clear()
    with common.database(backend) as (url, tmp):
        app = common.make_app(url, tmp, origin, **config)
        app.extensions["unknot_role"] = "dispatch"
        try:
            common.insert_due(app, subs, common.now() - common.timedelta(seconds=1))
            with app.app_context():
                started = time.perf_counter()
                counts = dispatch.run_pass(app)
                took = time.perf_counter() - started
        finally:
            common.close_app(app)
    return len(subs) / took, counts


def _settings(procs):
    return {} if procs is None else {"SEND_PROCESSES": procs}


def _key(what, backend, procs):
    """The name of a pass's result in what measure() returns."""
    return f"{what}_{backend}" + ("" if procs is None else f"_p{procs}")


def _how(procs):
    return "defaults" if procs is None else ("no sender processes" if procs == 0 else
                                              f"{procs} sender processes")


def measure(n=5000, seq_n=100, latency_ms=50.0, db="both", naive_n=None, quiet=False, processes=(None,),
            repeat=3):
    out = print if not quiet else (lambda *a, **k: None)
    from webapp.jobs.senders import usable_cores
    from webapp.push.vapid import VapidSigner, load_or_create_vapid_key

    results = {}
    backends = common.backends(db)
    cores = usable_cores()
    out(f"fan-out of N = {n:,} messages; {cores} CPUs (defaults: {cores if cores > 1 else 0} "
        f"sender processes); databases: {', '.join(backends)}")
    with common.database("sqlite") as (_, tmp):
        key_path = os.path.join(tmp, "vapid.pem")
        signer = VapidSigner(load_or_create_vapid_key(key_path), "mailto:bench@unknot.app")

        with StandIn() as standin:
            subs = common.subscriptions(standin.origin, n)
            warm = common.subscriptions(standin.origin, min(200, n), prefix="w")
            # Warm-ups (imports, caches, first connections) for each contender.
            naive(warm, key_path, min(20, n))
            crypto_only(warm, signer)
            unknot_pass("sqlite", standin.origin, warm)
            standin.reset()

            a = naive(subs, key_path, naive_n or n)
            b = crypto_only(subs, signer)
            b_sign = crypto_only(subs, signer, fresh_signature=True)
            b_cached = crypto_only(subs, signer, keys_cached=True)
            results.update(a=a, b=b, b_sign=b_sign, b_cached=b_cached)
            out(f"  (a) naive pywebpush.webpush() loop      {a:9,.0f} msg/s")
            out(f"  (b) crypto only, cached VAPID header    {b:9,.0f} msg/s   (the limit)")
            out(f"      crypto only, a signature each       {b_sign:9,.0f} msg/s")
            out(f"      crypto only, every key already loaded {b_cached:7,.0f} msg/s")
            for backend in backends:
                for procs in processes:
                    standin.reset()
                    c, counts = unknot_pass(backend, standin.origin, subs, **_settings(procs))
                    got = standin.stats()
                    assert counts == {"ok": n}, counts
                    assert got["count"] == n and got["distinct"] == n, got
                    name = _key("c", backend, procs)
                    results[name] = c
                    out(f"  (c) Unknot dispatch pass ({backend}, {_how(procs) + ')':<26} {c:7,.0f} msg/s   "
                        f"= {c / a:4.1f} x (a), {100 * c / b:3.0f} % of (b)   "
                        f"[goal >= 4 x, >= 50 %: {'met' if c >= 4 * a and c >= 0.5 * b else 'NOT met'}]")

        if latency_ms:
            with StandIn(latency=latency_ms / 1000) as slow:
                subs = common.subscriptions(slow.origin, n, prefix="l")
                seq = naive(subs, key_path, min(seq_n, n))
                results["seq"] = seq
                out(f"with {latency_ms:g} ms added by the push service:")
                out(f"  sequential pywebpush loop ({min(seq_n, n)} messages, rate extrapolated) "
                    f"{seq:7,.1f} msg/s")
                for backend in backends:
                    for procs in processes:
                        runs = []  # (ratio, pass, limit): the limit right before and right after each pass
                        limits = []  # every measure of (b): how far this machine's speed moved meanwhile
                        for _ in range(repeat):
                            slow.reset()
                            limits.append(crypto_only(subs, signer))
                            c, counts = unknot_pass(backend, slow.origin, subs, **_settings(procs))
                            limits.append(crypto_only(subs, signer))
                            b = (limits[-2] + limits[-1]) / 2
                            assert counts == {"ok": n}, counts
                            runs.append((c / b, c, b))
                        runs.sort()
                        ratio, c, b = runs[len(runs) // 2]
                        name = _key("c_latency", backend, procs)
                        results[name], results[name + "_limit"] = c, b
                        spread = (f" (of {repeat}: {100 * runs[0][0]:.0f} to {100 * runs[-1][0]:.0f} %; "
                                  f"(b) read {min(limits):,.0f} to {max(limits):,.0f})" if repeat > 1 else "")
                        out(f"  Unknot dispatch pass, {backend}, {_how(procs):<24} {c:9,.0f} msg/s   "
                            f"= {100 * ratio:3.0f} % of (b) {b:,.0f}{spread}, {c / seq:5.1f} x sequential   "
                            f"[goal >= 80 %, >= 30 x: {'met' if ratio >= 0.8 and c >= 30 * seq else 'NOT met'}]")
    return results


def fixed_and_steady(points):
    """Where passes of several sizes lose their time: from (N, ratio to (b))
    of each, the steady ratio R and the fixed cost F (in messages of (b))
    of a pass's time N / ratio = N / R + F, which a pass pays whatever its
    size (starting its sender processes, the first claim and connections,
    the last answer's latency, the last write). Least squares of 1 / ratio
    = 1 / R + F / N on 1 / N, so that every size weighs alike. At least
    two different sizes."""
    xs, ys = [1 / n for n, _ in points], [1 / r for _, r in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    fixed = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return 1 / (my - fixed * mx), fixed


def _sizes(text):
    """--n: one size or several, comma-separated, each a whole number above 0."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must be whole numbers, comma-separated (3000,5000): {text!r}") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be at least 1: {text!r}")
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=_sizes, default=[5000],
                        help="N, or several (3000,5000,20000): then each in turn, and the steady ratio and "
                             "fixed cost fitted over them")
    parser.add_argument("--naive-n", type=int, default=None, help="messages for (a); default N")
    parser.add_argument("--seq-n", type=int, default=100, help="messages for the sequential loop with latency")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--processes", default="default",
                        help="UNKNOT_SEND_PROCESSES values to run (c) with, e.g. default,0,2")
    parser.add_argument("--repeat", type=int, default=3,
                        help="passes with latency, each between two measures of (b); the median is shown")
    args = parser.parse_args(argv)
    sizes = args.n
    processes = tuple(None if p == "default" else int(p) for p in args.processes.split(","))
    runs = [(n, measure(n, args.seq_n, args.latency_ms, args.db, args.naive_n, processes=processes,
                        repeat=args.repeat)) for n in sizes]
    if len(set(sizes)) > 1 and args.latency_ms:
        print(f"fitted over N = {', '.join(f'{n:,}' for n in sizes)} at {args.latency_ms:g} ms "
              f"(a pass's time = N / R + F, in messages of (b)):")
        for backend in ("sqlite", "postgresql"):
            for procs in processes:
                name = _key("c_latency", backend, procs)
                if not all(name in r for _, r in runs):  # a database that was not reachable throughout
                    continue
                steady, fixed = fixed_and_steady([(n, r[name] / r[name + "_limit"]) for n, r in runs])
                limit = statistics.median(r[name + "_limit"] for _, r in runs)
                if steady <= 0 or fixed < 0:
                    print(f"  {backend}, {_how(procs)}: no fit (the ratios do not rise with N towards a "
                          f"steady one as N / R + F would)")
                    continue
                print(f"  {backend}, {_how(procs)}: steady R = {100 * steady:.0f} % of (b), fixed F = "
                      f"{fixed:,.0f} messages = {1000 * fixed / limit:.0f} ms at (b) {limit:,.0f} msg/s")


if __name__ == "__main__":
    sys.exit(main())
