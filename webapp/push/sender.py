"""The sender: encrypts push messages and sends hundreds at once.

Every message is encrypted with message.encrypt (http_ece aes128gcm, a
fresh ephemeral key and salt per message), signed with the cached VAPID
header of vapid.VapidSigner, sent through webapp.push.http1 (keep-alive
connections per push-service origin, a total deadline per request, SSRF
guard at connect time) and its answer judged by webapp.push.outcomes, by
a Deliverer on an asyncio event loop: at most ``concurrency`` messages in
flight, each waiting on its own connection for the price of a socket and
a callback: no task, future or timer of its own, which took about two
fifths of the sending's CPU beyond the encryption (``python -m bench.sender``
(2), bench/README.md).

Where that loop runs:

- ``processes`` > 0 (a worker, ``reminders dispatch``: one per core):
  in that many forked sender processes (webapp.push.shards), each with its
  own loop, connections and share of ``concurrency`` and ``per_origin``;
  this process keeps the database and hands them chunks of messages, each
  to the process with the fewest chunks still to encrypt, and none to a
  process with QUEUED of them: the chunks wait here for the first process
  ready for one. So a process that is held up (starved of the CPU,
  stopped) keeps QUEUED chunks, not half of every batch. Shared out in
  advance, one process of a pass of 5,000 ran out of work 35-100 ms before
  the other (they share the cores with the database and this process, and
  one gets less of them); with QUEUED 4, 0-40 ms (``python -m bench.budget
  --queued 1000`` against the default). The pass's rate stayed the same:
  this process used the time to write results (bench/README.md).
  Encryption holds the GIL (~150-350 µs a message) and so does reading
  an answer: in one process, the thread that claims and writes rows and
  the loop that reads answers would wait for each other's turn.
- 0 (the scheduler embedded in ``flask run``: a web server is not forked):
  on a thread of this process, encrypting between answers.
"""
from __future__ import annotations

import asyncio
import functools
import gc
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Callable, NamedTuple

from webapp.push import http1, outcomes, shards
from webapp.push.connect import system_resolver
from webapp.push.endpoints import parse_endpoint
from webapp.push.message import SendResult, check_headers, encrypt

log = logging.getLogger(__name__)

USER_AGENT = "unknot-push/1"
CHUNK = 32  # messages per trip to a sender process
# Chunks a sender process may have waiting to be encrypted: at 150-200 µs
# a message, 20-25 ms of work, so that it does not run out while this
# process's loop thread waits its turn at the GIL (up to 5 ms, the switch
# interval), and little for the other to wait for at the end of a pass.
QUEUED = 4
# Messages encrypted before any of them is written; then they go out back
# to back, and the answers that came meanwhile are read. A write right
# after its own encryption cost 31.1 µs here, one of 32 back to back 9.8,
# mostly for waking the push stand-in's process on this machine; to a
# listener that reads nothing, 13.5 against 8.9 (python -m bench.sender,
# (4), medians of 5). The price: a request waits for up to STEP - 1
# encryptions, 5-11 ms.
STEP = 32
YOUNG = 50_000  # the collector's first threshold in a process with sender processes
# While connections are being opened (each needs a few turns of the loop
# before its request can go), the loop turns at least this often (seconds).
OPENING_TURN = 0.001


class Message(NamedTuple):
    """One push to send."""

    endpoint: str
    p256dh: str
    auth: str
    data: bytes
    ttl: int
    urgency: str
    topic: str


class Fanout:
    """Sends many pushes at once. ``submit`` and ``send`` are safe from any
    thread; ``close`` ends the loop, the connections and the processes."""

    def __init__(self, signer, *, concurrency=1024, connect_timeout=3.05, timeout=10.0, per_origin=512,
                 trusted_origins=frozenset(), ca_bundle=None, processes=0, resolver=system_resolver):
        shares = max(1, processes)  # each process has its share of the caps
        # Origins configured on purpose (tests, a private push service) may be
        # non-public addresses; every other connection must reach a public one.
        client = http1.Client(connect_timeout=connect_timeout, timeout=timeout,
                              per_origin=-(-per_origin // shares), ca_bundle=ca_bundle,
                              trusted=trusted_origins.__contains__, resolver=resolver)
        self._deliverer = Deliverer(signer, client, -(-concurrency // shares))
        self._shards = []
        if processes:
            # What this process holds now (the app, its modules, its caches)
            # leaves the collector's scans for good, as Python's gc docs advise
            # before a fork. Without it, a full collection during a pass held
            # every thread of this process for 90-222 ms in 5 passes of 20
            # (python -m bench.budget --passes 5 --no-gc-freeze, four runs), and
            # in a child it would touch every page shared with this process.
            gc.freeze()
            # And young objects are collected less often: a pass makes tens of
            # thousands (rows, jobs, messages, results), nearly all freed by
            # their reference counts; the default (700) collected 45-51 times
            # in a pass of 5,000, 16-35 ms of this process's CPU in all, and
            # YOUNG not once (python -m bench.budget, the worker's collections).
            gc.set_threshold(YOUNG, *gc.get_threshold()[1:])
        for _ in range(processes):  # forked before this process starts its loop thread
            self._shards.append(shards.Shard(self._deliverer, [s.sock for s in self._shards]))
        self._room = asyncio.Semaphore(QUEUED * processes)  # chunks the processes may have queued
        self._misconfigured: set[str] = set()  # origins whose configuration error was logged
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="push-sender", daemon=True)
        self._thread.start()

    @property
    def client(self) -> http1.Client:
        """The connections of a sender without processes."""
        return self._deliverer.client

    # -- from any thread ---------------------------------------------------------

    def submit(self, messages: list[Message], until: float | None = None) -> Future:
        """Send ``messages``; the Future's result is a list of SendResult, in
        order, with None for a message not started when ``time.monotonic()``
        passed ``until``."""
        return asyncio.run_coroutine_threadsafe(self._send_all(list(messages), until), self._loop)

    def send(self, endpoint: str, p256dh: str, auth: str, data: bytes, *, ttl: int, urgency: str,
             topic: str) -> SendResult:
        """One message, waited for (ValueError for headers we would not send)."""
        check_headers(ttl, urgency, topic)
        return self.submit([Message(endpoint, p256dh, auth, data, ttl, urgency, topic)]).result()[0]

    def sweep(self) -> None:
        """Close connections idle for too long (after a pass)."""
        self._loop.call_soon_threadsafe(self._sweep)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._close_connections(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        for shard in self._shards:
            shard.join(10)

    # -- on the loop -------------------------------------------------------------

    def _sweep(self):
        if self._shards:
            for shard in self._shards:
                shard.sweep()
        else:
            self._deliverer.client.sweep()

    async def _close_connections(self):
        for shard in self._shards:
            shard.close()
        self._deliverer.client.close()
        await asyncio.sleep(0)  # the transports close their sockets on the next turn

    async def _send_all(self, messages, until):
        if not self._shards:
            results = await self._deliverer.send(messages, until)
        else:
            results = [None] * len(messages)
            await asyncio.gather(*(self._hand_over(messages, i, results, until)
                                   for i in range(0, len(messages), CHUNK)))
        self._note_config_errors(results)
        return results

    async def _hand_over(self, messages, start, results, until):
        """One chunk, once a sender process has room for it (in the order
        they came), to the one with the fewest still to encrypt."""
        chunk = messages[start:start + CHUNK]
        # Given back once the chunk is encrypted. asyncio.Semaphore wakes
        # its waiters in order (CPython gh-90155), so the oldest batch goes first.
        await self._room.acquire()
        started = time.perf_counter()
        try:
            for i, shard in enumerate(self._shards):
                if not shard.alive:  # killed (the OOM killer...): a new one in its place
                    shard.close()  # its end of the socket pair, which the new child must not inherit
                    shard.join(0)
                    others = [s.sock for s in self._shards if s is not shard]
                    self._shards[i] = shards.Shard(self._deliverer, others)
        except BaseException:  # the fork failed (out of memory...): the room is not taken
            self._room.release()
            raise
        shard = min(self._shards, key=lambda s: (s.unencrypted, s.outstanding))
        try:
            results[start:start + CHUNK] = await shard.send(chunk, until, encrypted=self._room.release)
        except shards.Died as exc:
            results[start:start + CHUNK] = [
                SendResult(None, "retry", None, str(exc), time.perf_counter() - started) for _ in chunk]

    def _note_config_errors(self, results):
        for result in results:
            if result is None:
                continue
            if result.outcome == "config":
                if result.origin not in self._misconfigured:
                    self._misconfigured.add(result.origin)
                    log.error("push service %s: configuration error, not retried: %s", result.origin,
                              result.error)
            elif result.outcome == "ok" and result.origin in self._misconfigured:
                self._misconfigured.discard(result.origin)
                log.warning("push service %s accepts our messages again", result.origin)


class _Call:
    """One ``Deliverer.send``: its messages, results and how many are still out."""

    __slots__ = ("messages", "until", "results", "out", "handed", "finished")

    def __init__(self, messages, until, finished: asyncio.Future):
        self.messages, self.until, self.finished = messages, until, finished
        self.results: list[SendResult | None] = [None] * len(messages)
        self.out = 0  # messages encrypted and not yet judged
        self.handed = False  # every message that will be is encrypted


class Deliverer:
    """Encrypts, signs, sends and judges messages on the running loop: the
    work of each sender process, or of the sender's own thread. A message
    in flight is a callback from its connection (webapp.push.http1), not a
    task: at most ``concurrency`` at once, the others queued in order."""

    def __init__(self, signer, client: http1.Client, concurrency: int):
        self.signer = signer
        self.client = client
        self.concurrency = concurrency
        self._encrypting = None  # made on the loop that uses it
        self._flying = 0
        self._queued: deque = deque()  # (call, index, body, started) waiting for one in flight to end
        self._headers: dict[str, tuple[float, str]] = {}

    async def send(self, messages, until, encrypted: Callable[[], None] = lambda: None) -> list[SendResult | None]:
        """Encrypt and send ``messages`` (None for each not started by
        ``until``), STEP at a time; ``encrypted()`` once none is left to encrypt. Calls are
        encrypted in the order they came, one after another, so that the
        oldest batch is answered first and the dispatcher can write it and
        claim the next while later ones fly."""
        if self._encrypting is None:
            self._encrypting = asyncio.Lock()
        call = _Call(messages, until, asyncio.get_running_loop().create_future())
        async with self._encrypting:
            start, count = 0, len(messages)
            while start < count and (until is None or time.monotonic() < until):
                opening, started = self.client.opening, time.perf_counter()
                bodies = []
                for i in range(start, min(start + STEP, count)):
                    bodies.append(_encrypt(messages[i]))
                    if (opening and time.perf_counter() - started >= OPENING_TURN) or (
                            until is not None and time.monotonic() >= until):
                        break
                for i, body in enumerate(bodies, start):
                    call.out += 1
                    if self._flying < self.concurrency:
                        self._go(call, i, body, started)
                    else:
                        self._queued.append((call, i, body, started))
                start += len(bodies)
                await asyncio.sleep(0)  # let answers in between steps
        call.handed = True
        encrypted()
        if call.out:
            await call.finished
        return call.results

    def _go(self, call: _Call, i: int, body, started: float) -> None:
        """Send one message (unless ``until`` has passed: then it stays None).
        It raises nothing: it also runs from a connection's callback, where an
        exception would leave its call waiting for good."""
        m = call.messages[i]
        if call.until is not None and time.monotonic() >= call.until:
            self._judged(call, i, None)
            return
        try:
            check_headers(m.ttl, m.urgency, m.topic)
            origin, netloc, target = _parse_endpoint(m.endpoint)
        except ValueError as exc:
            self._judged(call, i, _dropped(started, f"invalid message: {exc}"))
            return
        if isinstance(body, str):
            self._judged(call, i, _dropped(started, f"invalid subscription: {body}", origin))
            return
        try:
            head = (
                f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
                f"Authorization: {self._authorization(origin)}\r\nContent-Encoding: aes128gcm\r\n"
                f"Content-Type: application/octet-stream\r\nTTL: {m.ttl}\r\nUrgency: {m.urgency}\r\n"
                f"Topic: {m.topic}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1")
        except Exception as exc:  # our signer, not the message: it may work next time
            self._judged(call, i, outcomes.judge(m.endpoint, exc, time.perf_counter() - started, origin))
            return
        self._flying += 1
        answered = functools.partial(self._answered, call, i, started, origin)
        self.client.send(http1.Request(origin, head + body), answered)

    def _answered(self, call: _Call, i: int, started: float, origin: str, answer) -> None:
        self._flying -= 1
        result = outcomes.judge(call.messages[i].endpoint, answer, time.perf_counter() - started, origin)
        self._judged(call, i, result)
        while self._queued and self._flying < self.concurrency:  # its place to the next in line
            self._go(*self._queued.popleft())

    @staticmethod
    def _judged(call: _Call, i: int, result: SendResult | None) -> None:
        """The message's result (None: not started); the call ends with its last."""
        call.results[i] = result
        call.out -= 1
        if not call.out and call.handed and not call.finished.done():
            call.finished.set_result(None)

    def _authorization(self, origin) -> str:
        # The signer caches its token for hours; asking it once a minute per
        # origin saves its locking and URL parsing on every message.
        now = time.monotonic()
        cached = self._headers.get(origin)
        if cached is None or cached[0] < now:
            cached = self._headers[origin] = (now + 60, self.signer.header(origin))
        return cached[1]


def _dropped(started: float, error: str, origin: str = "") -> SendResult:
    """A message that cannot be sent as it is."""
    return SendResult(None, "drop", None, error, time.perf_counter() - started, origin)


def _encrypt(m: Message) -> bytes | str:
    """The encrypted body; a str says why there is none (malformed keys,
    payload too large)."""
    try:
        return encrypt(m.p256dh, m.auth, m.data)
    except ValueError as exc:
        return str(exc)


@functools.lru_cache(maxsize=65536)
def _parse_endpoint(endpoint: str):
    """(origin, Host header, request target) of an endpoint, by the parser that
    accepted it at subscribe time; ValueError (EndpointError) if it cannot be sent."""
    parsed = parse_endpoint(endpoint)
    return parsed.origin, parsed.netloc, parsed.target
