"""The sender's HTTP/1.1 client: keep-alive pools per origin, a total deadline per request.

Hundreds of requests are in flight from one event loop.

What it guarantees, whatever the other end does:

- **Connect** (webapp.push.connect): every address the name resolves to is
  tried in turn (IPv6 and IPv4, in the resolver's order). Unless the
  origin was configured on purpose (``trusted``), each address is checked
  with ``netguard.is_public`` right before it is connected to, so DNS
  answers that change between a check and the connection gain nothing.
  The lookup and each connection attempt (TCP + TLS) are bounded by
  ``connect_timeout``.
- **TLS**: certificates checked against ``ca_bundle`` (certifi's by default;
  ``UNKNOT_PUSH_CA_BUNDLE``), host name included; ALPN offers http/1.1 only.
  A refused certificate or a service that answers in HTTP/2 only is a
  ``Misconfigured`` failure: trying again cannot help.
- **Deadline**: a request has ``timeout`` seconds in all, from the lookup
  to the last byte of the answer, so a service that trickles bytes cannot
  hold a sender (webapp.push.deadlines: kept to within a tenth of it, at
  most 0.1 s).
- **Pool**: at most ``per_origin`` connections per origin, at most
  MAX_CONNECTING of them being opened at once, and no more than the
  origin's traffic needs (GROWTH); a request with no idle connection and no
  room for a new one waits for the next one released (waiting counts
  against its deadline). Idle connections are reused most recent first and
  closed once idle longer than ``max_idle`` seconds (services close idle
  connections on their side; a connection they have closed fails without
  an answer).
- **Retry**: only when a reused connection ends before any byte of the
  answer arrived (the service had closed it while idle) is the request sent
  again, once, on a new connection. Never when part of an answer came.
- No proxies, no redirects, no cookies: an answer is returned as it is.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from webapp.push.connect import Resolver, open_connection, system_resolver
from webapp.push.deadlines import Deadlines
from webapp.push.failures import Disconnected
from webapp.push.wire import Connection, Response

# Connections being opened at once per origin (each takes a round trip or
# three when the service is far away).
MAX_CONNECTING = 32
# How many connections an origin may have: FIRST before anything is known,
# then FIRST + GROWTH x answers per second x the shortest round trip
# (Little's law: how many requests the service holds at once), measured
# over windows of at least WINDOW seconds and one round trip, and never
# less than half the last figure (one window with few answers is noise,
# not a reason to stop growing). 50 ms away the pool grows about
# GROWTH-fold each round trip (8 to 512 in four); at no distance a
# handful of connections carries everything, and a request rather waits
# for one in use than pays a TLS handshake it does not need.
FIRST = 8
GROWTH = 3.0
WINDOW = 0.05
# A service is far when, FAR_WINDOWS windows in a row, its quickest answer took
# FAR times longer than the quickest new connection took to open: then a
# request waiting for a connection opens its own (up to the cap), which is
# ready well before an answer would free one (50 ms away, the pool is full
# about two round trips after the first answer). Twice, and two windows:
# a nearby service slowed by its own queue (a burst's first answers)
# answers slowly for a while, and more connections would only add
# handshakes to its queue.
FAR = 2.0
FAR_WINDOWS = 2


@dataclass(frozen=True, slots=True)
class Request:
    """One request: where to (``origin`` is the pool key: scheme://host[:port])
    and its bytes as they go on the wire."""

    origin: str
    data: bytes


class _Pool:
    """One origin's connections: the idle ones (most recently used last), how
    many exist, how many are being opened, the requests waiting for one, and
    what its traffic says about how many it needs."""

    __slots__ = ("idle", "size", "connecting", "waiters", "room", "far", "connect", "window_start",
                 "window_done", "window_rtt")

    def __init__(self):
        self.idle: deque[Connection] = deque()
        self.size = 0
        self.connecting = 0
        self.waiters: deque[asyncio.Future] = deque()
        self.room = FIRST  # connections it may have now (see GROWTH)
        self.far = 0  # windows in a row whose round trips said the service is far (FAR)
        self.connect = float("inf")  # the shortest time a connection took to open
        self.window_start = time.monotonic()
        self.window_done = 0
        self.window_rtt = float("inf")

    def allowed(self, per_origin: int) -> int:
        """Connections it may have now: as many as ``per_origin`` while the
        service is far (FAR), else what Little's law says its traffic needs."""
        return per_origin if self.far >= FAR_WINDOWS else min(per_origin, self.room)

    def note(self, rtt: float) -> None:
        """One answer, ``rtt`` seconds after its request was written."""
        self.window_done += 1
        self.window_rtt = min(self.window_rtt, rtt)
        now = time.monotonic()
        span = now - self.window_start
        if span >= max(WINDOW, self.window_rtt):
            rate = self.window_done / span
            self.room = max(FIRST + int(GROWTH * rate * self.window_rtt), self.room // 2)
            self.far = self.far + 1 if self.window_rtt > FAR * self.connect else 0
            self.window_start, self.window_done, self.window_rtt = now, 0, float("inf")


class Client:
    """Keep-alive connections per origin; ``request`` from the event loop."""

    def __init__(self, *, connect_timeout: float = 3.05, timeout: float = 10.0, per_origin: int = 256,
                 max_idle: float = 30.0, ca_bundle: str | None = None,
                 trusted: Callable[[str], bool] = lambda origin: False, resolver: Resolver = system_resolver):
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.per_origin = per_origin
        self.max_idle = max_idle
        self.ca_bundle = ca_bundle
        self.trusted = trusted
        self.resolver = resolver
        self._pools: dict[str, _Pool] = {}
        self._open: set[Connection] = set()
        self._deadlines = Deadlines(timeout)

    @property
    def connections(self) -> int:
        """Connections open now (in use or idle)."""
        return sum(1 for c in self._open if not c.closed)

    async def request(self, request: Request) -> Response:
        pool = self._pools.get(request.origin)
        if pool is None:
            pool = self._pools[request.origin] = _Pool()
        return await self._deadlines.bound(self._exchange(pool, request))

    async def _exchange(self, pool: _Pool, request: Request) -> Response:
        conn, reused = await self._acquire(pool, request.origin)
        retried = False
        while True:
            try:
                response = await conn.exchange(request.data)
            except BaseException as exc:
                self._discard(conn)
                if isinstance(exc, Disconnected) and reused and not conn.received and not retried:
                    retried, reused = True, False  # the service had closed it while idle: once more, fresh
                    try:
                        conn = await self._connect(request.origin)  # in the same place in the pool
                    except BaseException:
                        self._release(pool, None)
                        raise
                    continue
                self._release(pool, None)
                raise
            if conn.rtt:  # measured when the answer was read (0: it came as the connection closed)
                allowed = pool.allowed(self.per_origin)
                pool.note(conn.rtt)
                more = pool.allowed(self.per_origin) - allowed
                for _ in range(min(more, MAX_CONNECTING - pool.connecting)):
                    self._wake(pool)  # requests waiting for a connection may open new ones now
            self._release(pool, None if conn.closed else conn)
            return response

    async def _acquire(self, pool: _Pool, origin: str) -> tuple[Connection, bool]:
        """(connection, reused): an idle one; else a new one, while the pool
        has room (``_Pool.allowed``) and fewer than MAX_CONNECTING are being
        opened; else the next one another request releases (at no distance,
        reuse is cheaper than a TLS handshake)."""
        while True:
            conn = self._idle(pool)
            if conn is not None:
                return conn, True
            if pool.size < pool.allowed(self.per_origin) and pool.connecting < MAX_CONNECTING:
                pool.size += 1
                pool.connecting += 1
                started = time.monotonic()
                try:
                    conn = await self._connect(origin)
                    pool.connect = min(pool.connect, time.monotonic() - started)
                    return conn, False
                except BaseException:
                    pool.size -= 1
                    raise
                finally:
                    pool.connecting -= 1
                    self._wake(pool)
            waiter = asyncio.get_running_loop().create_future()
            pool.waiters.append(waiter)
            try:
                conn = await waiter
            except BaseException:  # the deadline, maybe just after this request was handed something
                if waiter.done() and not waiter.cancelled():
                    if waiter.result() is None:
                        self._wake(pool)  # pass the turn on
                    else:
                        self._release(pool, waiter.result())
                raise
            if conn is not None:
                return conn, True

    def _release(self, pool: _Pool, conn: Connection | None) -> None:
        """A connection back: to the first waiting request, else idle; None
        when it was closed, which makes room for a new one."""
        if conn is None:
            pool.size -= 1
            self._wake(pool)
            return
        while pool.waiters:
            waiter = pool.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = time.monotonic()
        pool.idle.append(conn)

    @staticmethod
    def _wake(pool: _Pool) -> None:
        """Let the first waiting request look again (there may be room now)."""
        while pool.waiters:
            waiter = pool.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _idle(self, pool: _Pool) -> Connection | None:
        self._retire_idle(pool)
        idle = pool.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
            self._discard(conn)
            pool.size -= 1
        return None

    def _retire_idle(self, pool: _Pool) -> None:
        idle, now = pool.idle, time.monotonic()
        while idle and (idle[0].closed or now - idle[0].idle_since > self.max_idle):
            self._discard(idle.popleft())
            pool.size -= 1

    def _discard(self, conn: Connection) -> None:
        conn.close()
        self._open.discard(conn)

    def sweep(self) -> None:
        """Close connections idle longer than ``max_idle`` (a quiet origin's too)."""
        for pool in self._pools.values():
            self._retire_idle(pool)

    async def _connect(self, origin: str) -> Connection:
        conn = await open_connection(origin, Connection, timeout=self.connect_timeout,
                                     guarded=not self.trusted(origin), ca_bundle=self.ca_bundle,
                                     resolver=self.resolver)
        self._open.add(conn)
        return conn

    def close(self) -> None:
        self._deadlines.close()
        for pool in self._pools.values():
            pool.idle.clear()
        for conn in list(self._open):
            conn.close()
        self._open.clear()
