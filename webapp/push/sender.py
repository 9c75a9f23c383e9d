"""The sender: encrypts push messages and sends hundreds at once.

One asyncio event loop per process, on its own thread, sends every
message through webapp.http1 (keep-alive connections per push-service
origin, a total deadline per request, SSRF guard at connect time); at most
``concurrency`` messages are in flight. Each message is encrypted with
push.encrypt (http_ece aes128gcm, a fresh ephemeral key and salt per
message), signed with the cached VAPID header of push.VapidSigner, and its
answer judged by webapp.outcomes.

Encryption holds the GIL (~150 µs a message), so with ``processes`` > 0 it
runs in that many forked processes, in chunks, while this process keeps
the network and the database: a worker uses every core (bench/README.md).
The embedded scheduler of ``flask run`` keeps 0: a web server is not forked.

At 50 ms from the service, a sender is bound by how many messages it keeps
in flight, not by CPU: 64 threads x 20 answers a second was our ceiling;
the event loop holds hundreds of waiting requests for the price of their
sockets.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple
from urllib.parse import urlsplit

from webapp.push import http1, outcomes
from webapp.push.endpoints import parse_endpoint
from webapp.push.message import SendResult, check_headers, encrypt, parse_retry_after

log = logging.getLogger(__name__)

USER_AGENT = "unknot-push/1"
CHUNK = 32  # messages per trip to an encryption process


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
                 trusted_origins=frozenset(), ca_bundle=None, processes=0, resolver=http1.system_resolver):
        self.signer = signer
        self.concurrency = concurrency
        # Origins configured on purpose (tests, a private push service) may be
        # non-public addresses; every other connection must reach a public one.
        self.trusted_origins = trusted_origins
        self.client = http1.Client(connect_timeout=connect_timeout, timeout=timeout, per_origin=per_origin,
                                   ca_bundle=ca_bundle, trusted=trusted_origins.__contains__,
                                   resolver=resolver)
        self.processes = processes
        self._encryptors = _encryptors(processes) if processes > 0 else None
        self._headers: dict[str, tuple[float, str]] = {}
        self._misconfigured: set[str] = set()  # origins whose configuration error was logged
        self._loop = asyncio.new_event_loop()
        self._slots = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="push-sender", daemon=True)
        self._thread.start()

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
        self._loop.call_soon_threadsafe(self.client.sweep)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._close_connections(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        if self._encryptors is not None:
            self._encryptors.shutdown(wait=True, cancel_futures=True)

    # -- on the loop -------------------------------------------------------------

    async def _close_connections(self):
        self.client.close()
        await asyncio.sleep(0)  # the transports close their sockets on the next turn

    async def _send_all(self, messages, until):
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        results = [None] * len(messages)
        await asyncio.gather(*(self._chunk(messages, range(i, min(i + CHUNK, len(messages))), results, until)
                               for i in range(0, len(messages), CHUNK)))
        return results

    async def _chunk(self, messages, indexes, results, until):
        if until is not None and time.monotonic() >= until:
            return
        started = time.perf_counter()
        items = [(messages[i].p256dh, messages[i].auth, messages[i].data) for i in indexes]
        if self._encryptors is None:
            bodies = encrypt_many(items)
            await asyncio.sleep(0)  # let answers in between chunks
        else:
            try:
                bodies = await self._loop.run_in_executor(self._encryptors, encrypt_many, items)
            except BrokenProcessPool:  # an encryption process died (OOM killer...): new ones next time
                broken, self._encryptors = self._encryptors, _encryptors(self.processes)
                broken.shutdown(wait=False, cancel_futures=True)
                for i in indexes:
                    results[i] = SendResult(None, "retry", None, "encryption process died",
                                            time.perf_counter() - started)
                return
        await asyncio.gather(*(self._one(messages[i], body, results, i, until, started)
                               for i, body in zip(indexes, bodies)))

    async def _one(self, message, body, results, i, until, started):
        async with self._slots:
            if until is not None and time.monotonic() >= until:
                return
            results[i] = result = await self._deliver(message, body, started)
        if result.outcome == "config":
            if result.origin not in self._misconfigured:
                self._misconfigured.add(result.origin)
                log.error("push service %s: configuration error, not retried: %s", result.origin, result.error)
        elif result.outcome == "ok" and result.origin in self._misconfigured:
            self._misconfigured.discard(result.origin)
            log.warning("push service %s accepts our messages again", result.origin)

    async def _deliver(self, m: Message, body, started) -> SendResult:
        def result(status, outcome, error=None, retry_after=None, origin=""):
            return SendResult(status, outcome, retry_after, error, time.perf_counter() - started, origin)

        try:
            check_headers(m.ttl, m.urgency, m.topic)
            origin, netloc, target = _parse_endpoint(m.endpoint)
        except ValueError as exc:
            return result(None, "drop", f"invalid message: {exc}")
        if isinstance(body, str):
            return result(None, "drop", f"invalid subscription: {body}", origin=origin)
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Authorization: {self._authorization(origin)}\r\nContent-Encoding: aes128gcm\r\n"
            f"Content-Type: application/octet-stream\r\nTTL: {m.ttl}\r\nUrgency: {m.urgency}\r\n"
            f"Topic: {m.topic}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        try:
            answer = await self.client.request(http1.Request(origin, head + body))
        except http1.Failure as exc:
            return result(None, outcomes.for_failure(exc), f"{exc} ({origin})", origin=origin)
        status = answer.status
        outcome = outcomes.for_status(status)
        if outcome == "ok":
            return result(status, outcome, origin=origin)
        error = f"HTTP {status}"
        detail = " ".join(_redact(answer.body[:200].decode("utf-8", "replace"), m.endpoint).split())[:120]
        if detail:
            error = f"{error}: {detail}"
        retry_after = parse_retry_after(answer.headers.get("retry-after")) if outcome == "retry" else None
        return result(status, outcome, error, retry_after, origin=origin)

    def _authorization(self, origin) -> str:
        # The signer caches its token for hours; asking it once a minute per
        # origin saves its locking and URL parsing on every message.
        now = time.monotonic()
        cached = self._headers.get(origin)
        if cached is None or cached[0] < now:
            cached = self._headers[origin] = (now + 60, self.signer.header(origin))
        return cached[1]


def encrypt_many(items) -> list[bytes | str]:
    """Encrypted bodies for (p256dh, auth, data) items; a str says why one
    could not be (malformed keys, payload too large)."""
    out = []
    for p256dh, auth, data in items:
        try:
            out.append(encrypt(p256dh, auth, data))
        except ValueError as exc:
            out.append(str(exc))
    return out


def _encryptors(processes: int) -> ProcessPoolExecutor:
    import multiprocessing

    # fork: "spawn" would re-run the main module (the flask CLI) in each child.
    # The children only encrypt; they never touch what they inherit.
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                               initializer=_watch_parent, initargs=(os.getpid(),))


def _watch_parent(parent: int) -> None:
    """An encryption process ends when its parent does, even by SIGKILL."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


@functools.lru_cache(maxsize=65536)
def _parse_endpoint(endpoint: str):
    """(origin, Host header, request target) of an endpoint, by the parser that
    accepted it at subscribe time; ValueError (EndpointError) if it cannot be sent."""
    parsed = parse_endpoint(endpoint)
    return parsed.origin, parsed.netloc, parsed.target


def _redact(text: str, endpoint: str) -> str:
    # The endpoint is a capability URL: its path must not end up in logs.
    path = urlsplit(endpoint).path
    text = text.replace(endpoint, "<endpoint>")
    return text.replace(path, "<path>") if len(path) > 1 else text
