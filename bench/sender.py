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
  4. What writing a request costs: each right after its own encryption,
     against STEP encrypted first and then written back to back (as a
     Deliverer does, webapp.push.sender.STEP), over plain sockets on 256
     connections (up to 4 requests on one before their answers, where a
     Deliverer waits for each): to the stand-in, a process that sleeps
     between requests (a write that finds it asleep wakes it), and to a
     listener that reads nothing (nobody to wake; the kernel's receiving
     side still runs in this process's time, as it would not for a
     service on another machine). The µs of each write, and of each
     message's encryption and write: the latter also moves with the
     encryption itself, which runs slower here between writes, and which
     (4) does not tell apart.

    python -m bench.sender                      # 10 batches, 50 ms, 5 rounds
    python -m bench.sender --batches 2 --rounds 1 --latency-ms 5
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
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


def _drain(socks) -> int:
    """Read whatever has come in on ``socks`` (answers, or requests nobody
    serves), without waiting; how many 201 answers were among it."""
    answered = 0
    for sock in socks:
        data, timeout = bytearray(), sock.gettimeout()
        sock.setblocking(False)
        try:
            while chunk := sock.recv(1 << 16):
                data += chunk
        except BlockingIOError:
            pass
        finally:
            sock.settimeout(timeout)
        answered += data.count(b"HTTP/1.1 201 ")
    return answered


def _write_round(conns, subs, group) -> tuple[float, float]:
    """(4): every message of ``subs`` encrypted and written, ``group`` at a
    time; (µs a write, µs a message: its encryption and its write)."""
    from webapp.push.message import encrypt, subscriber_keys

    subscriber_keys.cache_clear()  # each key met for the first time, as in (b)
    writing, started = 0.0, time.perf_counter()
    for start in range(0, len(subs), group):
        bodies = [encrypt(s["keys"]["p256dh"], s["keys"]["auth"], fanout.PAYLOAD) for s in subs[start:start + group]]
        for i, body in enumerate(bodies, start):
            head = (f"POST /push/x{i} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Encoding: aes128gcm\r\n"
                    f"TTL: 3600\r\nTopic: unknot-hydration\r\nContent-Length: {len(body)}\r\n\r\n")
            request = head.encode("latin-1") + body
            sock = conns[i % len(conns)]
            before = time.perf_counter()
            sock.sendall(request)
            writing += time.perf_counter() - before
    took = time.perf_counter() - started
    subscriber_keys.cache_clear()
    return 1e6 * writing / len(subs), 1e6 * took / len(subs)


def writes(standin, subs, rounds, latency) -> dict:
    """(4): {target: {"each": rows, "grouped": rows, "sent": n, "answered": n}},
    a row (µs a write, µs a message) a round; each round runs both ways, in
    turn first (ABBA), so that the machine's drift weighs on both alike."""
    from webapp.push.sender import STEP

    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    host, port = standin.origin.rsplit("//", 1)[1].rsplit(":", 1)
    targets = {"stand-in": (host, int(port)), "listener": listener.getsockname()}
    out, opened = {}, []
    try:
        for target, address in targets.items():
            conns = []
            for _ in range(256):
                conns.append(socket.create_connection(address, timeout=10))
                opened.append(conns[-1])
                conns[-1].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target == "stand-in":
                served = conns
            else:
                served = []
                for _ in conns:
                    served.append(listener.accept()[0])
                    opened.append(served[-1])
            result = out[target] = {"each": [], "grouped": [], "sent": 0, "answered": 0}
            for round_ in range(rounds):
                ways = [("each", 1), ("grouped", STEP)]
                for way, group in ways if round_ % 2 == 0 else ways[::-1]:
                    result[way].append(_write_round(conns, subs, group))
                    result["sent"] += len(subs)
                    time.sleep(latency + 0.05)  # the stand-in's answers come in meanwhile
                    result["answered"] += _drain(served)
            deadline = time.monotonic() + 10  # the last answers, on a busy machine
            while target == "stand-in" and result["answered"] < result["sent"] and time.monotonic() < deadline:
                time.sleep(0.01)
                result["answered"] += _drain(served)
    finally:
        for sock in opened:
            sock.close()
        listener.close()
    return out


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
        writing = writes(standin, subs[:1024], rounds, latency_ms / 1000)
    result["parsing"] = p = parsing()
    if p:
        out(f"  (3) a new endpoint: quick parse {p['quick_us']:.1f} µs, general parse {p['general_us']:.1f} µs")
    result["writes"] = writing
    from webapp.push.sender import STEP

    for target, how in (("stand-in", "to the stand-in, which sleeps between requests"),
                        ("listener", "to a listener that reads nothing (nobody to wake)")):
        w = writing[target]
        each, grouped = ([statistics.median(r[k] for r in w[way]) for k in (0, 1)] for way in ("each", "grouped"))
        out(f"  (4) writes {how}, medians of {rounds}: a write right after its encryption {each[0]:4.1f} µs, "
            f"{STEP} encrypted and then written back to back {grouped[0]:4.1f} µs a write "
            f"(a message, encryption and write: {each[1]:5.1f} and {grouped[1]:5.1f} µs)")
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
