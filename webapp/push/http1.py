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
  again, once, on another connection (waiting its turn first in line, under
  the same caps). Never when part of an answer came.
- No proxies, no redirects, no cookies: an answer is returned as it is.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

from webapp.push.connect import Resolver, open_connection, system_resolver
from webapp.push.deadlines import Deadlines
from webapp.push.failures import Disconnected, Failure, Timeout
from webapp.push.pool import Pool
from webapp.push.wire import Connection

# Connections being opened at once per origin (each takes a round trip or
# three when the service is far away).
MAX_CONNECTING = 32


@dataclass(frozen=True, slots=True)
class Request:
    """One request: where to (``origin`` is the pool key: scheme://host[:port])
    and its bytes as they go on the wire."""

    origin: str
    data: bytes


class _Exchange:
    """One request on its way: its pool, whom to tell, and whether its
    connection was reused and the request already sent again."""

    __slots__ = ("request", "done", "pool", "conn", "reused", "retried")

    def __init__(self, request: Request, done, pool: Pool):
        self.request, self.done, self.pool = request, done, pool
        self.conn: Connection | None = None
        self.reused = self.retried = False


class Client:
    """Keep-alive connections per origin; ``send`` from the event loop."""

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
        self._pools: dict[str, Pool] = {}
        self._open: set[Connection] = set()
        self._deadlines = Deadlines(timeout, self._expire)  # every _Exchange not yet told
        self._tasks: set[asyncio.Task] = set()  # connections being opened

    @property
    def connections(self) -> int:
        """Connections open now (in use or idle)."""
        return sum(1 for c in self._open if not c.closed)

    @property
    def opening(self) -> bool:
        """Whether connections are being opened."""
        return bool(self._tasks)

    def send(self, request: Request, done: Callable[[object], None]) -> None:
        """Send ``request``; ``done(answer)`` once, within a tick of its
        deadline: a Response, a Failure, or (a bug of ours) another
        exception. No task or future per request: an idle connection writes
        it at once, and its answer comes back through the connection's callback."""
        pool = self._pools.get(request.origin)
        if pool is None:
            pool = self._pools[request.origin] = Pool()
        ex = _Exchange(request, done, pool)
        self._deadlines.add(ex, asyncio.get_running_loop())
        self._place(ex)

    def _place(self, ex: _Exchange, first: bool = False) -> None:
        """A connection for ``ex``: an idle one; else a new one, while the pool
        has room (``Pool.allowed``) and fewer than MAX_CONNECTING are being
        opened; else the next one another request releases (at no distance,
        reuse is cheaper than a TLS handshake), in the order they came
        (``first``: it was waiting already, or is being sent again)."""
        pool = ex.pool
        conn = self._idle(pool)
        if conn is not None:
            self._write(ex, conn, reused=True)
        elif pool.size < pool.allowed(self.per_origin) and pool.connecting < MAX_CONNECTING:
            pool.size += 1
            pool.connecting += 1
            self._start(self._open_for(ex))
        else:
            if first:
                pool.waiters.appendleft(ex)
            else:
                pool.waiters.append(ex)
            if pool.silent():  # far, it turns out: those waiting open connections of their own
                for _ in range(MAX_CONNECTING - pool.connecting):
                    self._wake(pool)

    def _start(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_for(self, ex: _Exchange) -> None:
        pool, started = ex.pool, time.monotonic()
        try:
            conn = await self._connect(ex.request.origin)
        except Exception as exc:
            pool.connecting -= 1
            pool.ended()
            self._release(pool, None)
            self._finish(ex, exc)
            return
        pool.connecting -= 1
        pool.opened(time.monotonic() - started)
        self._write(ex, conn, reused=False)
        self._wake(pool)  # one fewer being opened: a waiting request may open another

    def _write(self, ex: _Exchange, conn: Connection, reused: bool) -> None:
        if ex.done is not None and self._deadlines.overdue(ex):  # not sent past its deadline
            self._deadlines.discard(ex)
            self._expire(ex)
        if ex.done is None:  # its deadline passed while a connection was found for it
            self._release(ex.pool, conn)
            return
        ex.conn, ex.reused = conn, reused
        if conn.closed:  # it spoke before being asked, or was closed while idle
            self._answered(ex, conn.failure())
        else:
            conn.begin(ex.request.data, self._answered, ex)

    def _answered(self, ex: _Exchange, answer) -> None:
        conn, pool = ex.conn, ex.pool
        ex.conn = None
        pool.ended()
        if isinstance(answer, Failure):
            self._discard(conn)
            if isinstance(answer, Disconnected) and ex.reused and not conn.received and not ex.retried:
                ex.retried = True  # the service had closed it while idle: once more, on another
                pool.size -= 1
                self._place(ex, first=True)
                return
            self._release(pool, None)
            self._finish(ex, answer)
            return
        if conn.rtt:  # measured when the answer was read (0: it came as the connection closed)
            allowed = pool.allowed(self.per_origin)
            pool.note(conn.rtt)
            for _ in range(min(pool.allowed(self.per_origin) - allowed, MAX_CONNECTING - pool.connecting)):
                self._wake(pool)  # requests waiting for a connection may open new ones now
        if conn.closed:  # the answer said so, or came as the connection ended
            self._discard(conn)
            self._release(pool, None)
        else:
            self._release(pool, conn)
        self._finish(ex, answer)

    def _finish(self, ex: _Exchange, answer) -> None:
        done, ex.done = ex.done, None
        if done is not None:  # else its deadline came first, and it was told so
            self._deadlines.discard(ex)
            done(answer)

    def _expire(self, ex: _Exchange) -> None:
        """Past its deadline, wherever it is: its connection, if it has one,
        closes (an answer may still come on it), and a waiting one is skipped."""
        done, ex.done, conn, ex.conn = ex.done, None, ex.conn, None
        ex.pool.ended()
        if conn is not None:
            self._discard(conn)
            self._release(ex.pool, None)
        if done is not None:
            done(Timeout(f"timeout: no complete answer within {self.timeout:g} s"))

    def _release(self, pool: Pool, conn: Connection | None) -> None:
        """A connection back: to the first waiting request, else idle; None
        when it was closed, which makes room for a new one."""
        if conn is None:
            pool.size -= 1
            self._wake(pool)
            return
        while pool.waiters:
            ex = pool.waiters.popleft()
            if ex.done is not None:
                self._write(ex, conn, reused=True)
                return
        conn.idle_since = time.monotonic()
        pool.idle.append(conn)

    def _wake(self, pool: Pool) -> None:
        """Let the first waiting request look again (there may be room now)."""
        while pool.waiters:
            ex = pool.waiters.popleft()
            if ex.done is not None:
                self._place(ex, first=True)
                return

    def _idle(self, pool: Pool) -> Connection | None:
        self._retire_idle(pool)
        idle = pool.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
            self._discard(conn)
            pool.size -= 1
        return None

    def _retire_idle(self, pool: Pool) -> None:
        idle, now = pool.idle, time.monotonic()
        while idle and (idle[0].closed or now - idle[0].idle_since > self.max_idle):
            self._discard(idle.popleft())
            pool.size -= 1

    def _discard(self, conn: Connection) -> None:
        """Close ``conn`` for good: no answer on it is handed on any more."""
        conn.callback = conn.arg = None
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
        for task in list(self._tasks):
            task.cancel()
        for pool in self._pools.values():
            pool.idle.clear()
            pool.waiters.clear()
        for conn in list(self._open):
            self._discard(conn)
