"""The sender alone, without a database, beside the crypto limit.

  1. A new sender (webapp.push.sender.Fanout, a sender process per core, as
     a worker makes it) handed ``--batches`` batches of 500 messages at
     once, the push stand-in ``--latency-ms`` away: its rate against (b),
     the crypto alone on one core (bench/fanout.py), measured right before
     and right after; and how busy the cores were.
  2. The same messages through one Deliverer on this process's own loop
     (no processes), handed in chunks of 32 as a sender process gets them,
     with one body of the encrypted size in place of each encryption: its
     CPU per message is what sending costs beyond the encryption (requests,
     answers, the pool, the deadlines, the loop), measured on its own
     rather than as the difference of two noisy timings.
  3. Parsing a new endpoint: the quick path for endpoints in their stored
     form against the general parse (webapp.push.endpoints).

    python -m bench.sender                      # 10 batches, 50 ms, 5 rounds
    python -m bench.sender --batches 2 --rounds 1 --latency-ms 5
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import timeit

from bench import common, fanout
from bench.standin import StandIn

BATCH = 500


def _messages(subs):
    from webapp.push.sender import Message

    return [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], fanout.PAYLOAD, 3600, "normal",
                    "unknot-hydration") for s in subs]


def alone(signer, standin, subs, processes) -> dict:
    """(1): a new Fanout handed every batch at once."""
    from webapp.push.sender import Fanout

    messages = _messages(subs)
    before = fanout.crypto_only(subs, signer)
    sender = Fanout(signer, processes=processes, trusted_origins=frozenset([standin.origin]))
    try:
        idle, started = common.idle_and_total(), time.perf_counter()
        futures = [sender.submit(messages[i:i + BATCH]) for i in range(0, len(messages), BATCH)]
        results = [r for future in futures for r in future.result(300)]
        rate = len(messages) / (time.perf_counter() - started)
        now = common.idle_and_total()
    finally:
        sender.close()
    assert {r.outcome for r in results} == {"ok"}, {r.outcome for r in results}
    limit = (before + fanout.crypto_only(subs, signer)) / 2
    return {"rate": rate, "limit": limit, "ratio": rate / limit,
            "busy": 1 - (now[0] - idle[0]) / max(1, now[1] - idle[1])}


def in_process(signer, standin, subs) -> dict:
    """(2): CPU per message of one Deliverer on this loop, encryption aside."""
    from webapp.push import http1, sender
    from webapp.push.sender import CHUNK, Deliverer

    messages = _messages(subs)
    body = sender._encrypt(messages[0])

    async def run():
        client = http1.Client(trusted=lambda origin: True)
        deliverer = Deliverer(signer, client, 512)
        try:
            sends = []
            for i in range(0, len(messages), BATCH):  # a batch at a time, in chunks, as a process gets them
                sends += [asyncio.ensure_future(deliverer.send(messages[j:j + CHUNK], None))
                          for j in range(i, min(i + BATCH, len(messages)), CHUNK)]
                await asyncio.sleep(0)
            return [r for chunk in await asyncio.gather(*sends) for r in chunk]
        finally:
            client.close()

    # On a thread of its own: its own event loop, whatever the caller runs.
    done = {}

    def on_thread():
        started = time.thread_time()
        done["results"] = asyncio.run(run())
        done["cpu"] = time.thread_time() - started

    real, sender._encrypt = sender._encrypt, lambda message: body
    try:
        thread = threading.Thread(target=on_thread)
        thread.start()
        thread.join()
    finally:
        sender._encrypt = real
    results = done["results"]
    assert {r.outcome for r in results} == {"ok"}, {r.outcome for r in results}
    return {"beyond_us": 1e6 * done["cpu"] / len(subs)}


def parsing() -> dict | None:
    """(3): µs to parse an endpoint seen for the first time, both ways (None
    for code from before the quick path, run from a worktree)."""
    try:
        from webapp.push.endpoints import _parse_any, parse_endpoint
    except ImportError:
        return None

    urls = iter([f"https://fcm.googleapis.com/fcm/send/e{i}:APA91b{i:032d}" for i in range(400_000)])
    quick = min(timeit.repeat(lambda: parse_endpoint(next(urls)), number=20_000, repeat=5)) / 20_000
    general = min(timeit.repeat(lambda: _parse_any(next(urls)), number=20_000, repeat=5)) / 20_000
    return {"quick_us": 1e6 * quick, "general_us": 1e6 * general}


def measure(batches=10, latency_ms=50.0, rounds=5, quiet=False):
    out = print if not quiet else (lambda *a, **k: None)
    from webapp.jobs.senders import usable_cores
    from webapp.push.vapid import VapidSigner, load_or_create_vapid_key

    processes = usable_cores() if usable_cores() > 1 else 0
    signer = VapidSigner(load_or_create_vapid_key(os.path.join(tempfile.mkdtemp(), "k.pem")),
                         "mailto:bench@unknot.app")
    n = batches * BATCH
    result = {"alone": [], "in_process": []}
    out(f"the sender alone: {batches} batches of {BATCH} at once, push service {latency_ms:g} ms away, "
        f"{processes} sender processes (the default on {usable_cores()} cores)")
    with StandIn(latency=latency_ms / 1000) as standin:
        subs = common.subscriptions(standin.origin, n)
        alone(signer, standin, common.subscriptions(standin.origin, 200, prefix="w"), processes)  # warm-up
        for _ in range(rounds):
            standin.reset()
            r = alone(signer, standin, subs, processes)
            result["alone"].append(r)
            out(f"  (1) a new sender: {r['rate']:6,.0f} msg/s = {100 * r['ratio']:3.0f} % of (b) {r['limit']:,.0f}; "
                f"cores busy {100 * r['busy']:3.0f} %")
        for _ in range(rounds):
            standin.reset()
            r = in_process(signer, standin, subs)
            result["in_process"].append(r)
            out(f"  (2) one Deliverer in this process, a ready body for each message: "
                f"{r['beyond_us']:4.1f} µs a message beyond the encryption")
    result["parsing"] = p = parsing()
    if p:
        out(f"  (3) a new endpoint: quick parse {p['quick_us']:.1f} µs, general parse {p['general_us']:.1f} µs")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    measure(args.batches, args.latency_ms, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
