"""A small asyncio HTTP/1.1 client, just enough for push requests.

A push request is always one POST with a Content-Length body and a small
answer, so this client writes the request and parses the answer itself on
a keep-alive connection (~20 µs of CPU, where ``requests`` spends ~450 µs):
hundreds of requests can be in flight from one process, each waiting on
its own connection while the others' answers arrive.

What it guarantees, whatever the other end does:

- **Connect**: every address the name resolves to is tried in turn (IPv6
  and IPv4, in the resolver's order). Unless the origin was configured on
  purpose (``trusted``), each address is checked with
  ``netguard.is_public`` right before it is connected to, so DNS answers that
  change between a check and the connection gain nothing. The lookup and
  each connection attempt (TCP + TLS) are bounded by ``connect_timeout``.
- **TLS**: certificates checked against ``ca_bundle`` (certifi's by default;
  ``UNKNOT_PUSH_CA_BUNDLE``), host name included; ALPN offers http/1.1 only.
  A refused certificate or a service that answers in HTTP/2 only is a
  ``Misconfigured`` failure: trying again cannot help.
- **Deadline**: a request has ``timeout`` seconds in all, from the lookup
  to the last byte of the answer, so a service that trickles bytes cannot
  hold a sender.
- **Pool**: at most ``per_origin`` connections per origin, at most
  MAX_CONNECTING of them being opened at once; a request with no idle
  connection waits for the next one released rather than pay a handshake
  (waiting counts against its deadline). Idle connections are reused most
  recent first and closed once idle longer than ``max_idle`` seconds
  (services close idle connections on their side; a connection they have
  closed fails without an answer).
- **Retry**: only when a reused connection ends before any byte of the
  answer arrived (the service had closed it while idle) is the request sent
  again, once, on a new connection. Never when part of an answer came.
- No proxies, no redirects, no cookies: an answer is returned as it is.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable

import certifi

from webapp.push import netguard

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
MAX_BODY = 64 * 1024  # we keep at most this much of an answer, then hang up
# Connections being opened at once per origin (each takes a round trip or
# three when the service is far away).
MAX_CONNECTING = 32
# How many connections an origin may have: FIRST before anything is known,
# then FIRST + GROWTH x answers per second x the shortest round trip
# (Little's law), measured over windows of at least WINDOW seconds and one
# round trip. 50 ms away the pool can triple each round trip; at no
# distance a handful of connections carries everything, and a request
# rather waits for one in use than pays a TLS handshake it does not need.
FIRST = 8
GROWTH = 3.0
WINDOW = 0.05

Resolver = Callable[[str, int], Awaitable[list[tuple[int, tuple]]]]


@dataclass(frozen=True, slots=True)
class Request:
    """One request: where to (``origin`` is the pool key: scheme://host[:port])
    and its bytes as they go on the wire."""

    origin: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes


class Failure(Exception):
    """No answer. ``Misconfigured`` failures will not pass by trying again."""


class Timeout(Failure):
    pass


class Unreachable(Failure):
    """The name did not resolve, or no address took the connection."""


class Disconnected(Failure):
    """The connection ended before the answer was complete."""


class ProtocolError(Failure):
    pass


class Refused(Failure):
    """Every address the name resolves to is non-public."""


class Misconfigured(Failure):
    """This side and the service cannot talk: a refused certificate, or a
    service that speaks only HTTP/2."""


class HTTP2Only(Misconfigured):
    pass


class CertificateRefused(Misconfigured):
    pass


@functools.lru_cache(maxsize=8)
def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_bundle or certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def system_resolver(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, socket address) for each address of ``host``, in the order
    getaddrinfo gives them (RFC 6724: usually IPv6 first)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, (host, port))]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen, out = set(), []
    for family, _, _, _, address in infos:
        if address not in seen:
            seen.add(address)
            out.append((family, address))
    return out


def _public(address) -> bool:
    try:
        return netguard.is_public(address[0].split("%")[0])
    except ValueError:
        return False


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time."""

    __slots__ = ("transport", "buf", "waiter", "received", "closed", "idle_since", "sent_at", "rtt")

    def __init__(self):
        self.sent_at = self.rtt = 0.0  # when the request went out; how long its answer took
        self.transport = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.received = 0  # bytes of the current answer
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        waiter = self.waiter
        if waiter is None or waiter.done():  # nothing was asked: not a connection to keep
            self.buf += data[:MAX_HEAD]  # kept for exchange() to say what it was
            self.close()
            return
        self.buf += data
        self.received += len(data)
        try:
            answer = _parse(self.buf, eof=False)
        except Failure as exc:
            waiter.set_exception(exc)
            self.close()
            return
        if answer is not None:
            response, keep = answer
            self.rtt = time.monotonic() - self.sent_at
            waiter.set_result(response)
            if not keep:
                self.close()

    def eof_received(self):
        return False  # close the transport

    def connection_lost(self, exc):
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if not self.received:
            waiter.set_exception(Disconnected("connection closed before an answer"))
            return
        try:
            response, _ = _parse(self.buf, eof=True)
        except Failure as failure:
            waiter.set_exception(failure)
        else:
            waiter.set_result(response)

    async def exchange(self, data: bytes) -> Response:
        if self.closed:  # it spoke before being asked, or was closed while idle
            if self.buf:
                _parse(self.buf, eof=True)  # raises what it was (HTTP/2's greeting, say)
            raise Disconnected("connection closed before an answer")
        self.waiter = asyncio.get_running_loop().create_future()
        self.buf.clear()
        self.received = 0
        self.sent_at, self.rtt = time.monotonic(), 0.0
        self.transport.write(data)
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def close(self):
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _parse(buf: bytearray, eof: bool):
    """(Response, keep-alive) once ``buf`` holds a whole answer, else None
    (or, at ``eof``, Failure)."""
    pos = 0
    while True:
        if not b"HTTP/".startswith(bytes(buf[:5])):
            # An HTTP/2 server's first frame: 3 bytes length, type SETTINGS (4) or GOAWAY (7).
            if len(buf) >= 9 and buf[3] in (4, 7):
                raise HTTP2Only("the push service answered in HTTP/2; this sender speaks HTTP/1.1")
            if len(buf) >= 9 or eof:
                raise ProtocolError("not an HTTP/1.x answer")
            return None
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            if len(buf) - pos > MAX_HEAD:
                raise ProtocolError("answer head too large")
            if eof:
                raise Disconnected("connection closed in the middle of an answer")
            return None
        lines = bytes(buf[pos:end]).split(b"\r\n")
        try:
            version, code = lines[0].split(None, 2)[:2]
            status = int(code)
        except ValueError:
            raise ProtocolError("not an HTTP status line") from None
        if not version.startswith(b"HTTP/1.") or not 100 <= status <= 599:
            raise ProtocolError("not an HTTP/1.x answer")
        if len(lines) > MAX_HEADERS + 1:
            raise ProtocolError("too many headers")
        pos = end + 4
        if status >= 200:
            break  # 1xx (100 Continue, 103 Early Hints): the answer follows
        buf = buf[pos:]
        pos = 0
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError("bad header line")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    keep = version != b"HTTP/1.0" and headers.get("connection", "").lower() != "close"
    rest = memoryview(buf)[pos:]
    if status in (204, 304):
        body, used = b"", 0
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        parsed = _chunked(rest)
        if parsed is None:
            if eof:
                raise Disconnected("connection closed in the middle of an answer")
            return None
        body, used = parsed
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise ProtocolError("bad Content-Length") from None
        if length < 0:
            raise ProtocolError("bad Content-Length")
        if length > MAX_BODY:
            if len(rest) < MAX_BODY and not eof:
                return None
            return Response(status, headers, bytes(rest[:MAX_BODY])), False
        if len(rest) < length:
            if eof:
                raise Disconnected("answer cut short")
            return None
        body, used = bytes(rest[:length]), length
    else:  # the body ends when the connection does
        if not eof and len(rest) < MAX_BODY:
            return None
        return Response(status, headers, bytes(rest[:MAX_BODY])), False
    if used != len(rest):  # bytes nobody asked for: do not reuse this connection
        keep = False
    return Response(status, headers, body), keep


def _chunked(data: memoryview):
    """(body, bytes used) of a complete chunked body, else None."""
    raw = bytes(data)
    pos, parts, total = 0, [], 0
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(raw[pos:eol].split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError("bad chunk size") from None
        pos = eol + 2
        if size == 0:
            while True:  # trailers, up to the empty line
                eol = raw.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return b"".join(parts), eol + 2
                pos = eol + 2
        total += size
        if total > MAX_BODY:
            raise ProtocolError("answer too large")
        if len(raw) < pos + size + 2:
            return None
        parts.append(raw[pos:pos + size])
        pos += size + 2


class _Pool:
    """One origin's connections: the idle ones (most recently used last), how
    many exist, how many are being opened, and the requests waiting for one."""

    __slots__ = ("idle", "size", "connecting", "waiters", "room", "window_start", "window_done",
                 "window_rtt")

    def __init__(self):
        self.idle: deque[_Connection] = deque()
        self.size = 0
        self.connecting = 0
        self.waiters: deque[asyncio.Future] = deque()
        self.room = FIRST  # connections it may have now (see GROWTH)
        self.window_start = time.monotonic()
        self.window_done = 0
        self.window_rtt = float("inf")

    def note(self, rtt: float) -> None:
        """One answer, ``rtt`` seconds after its request was written."""
        self.window_done += 1
        self.window_rtt = min(self.window_rtt, rtt)
        now = time.monotonic()
        span = now - self.window_start
        if span >= max(WINDOW, self.window_rtt):
            rate = self.window_done / span
            self.room = FIRST + int(GROWTH * rate * self.window_rtt)
            self.window_start, self.window_done, self.window_rtt = now, 0, float("inf")


class Client:
    """Keep-alive connections per origin; ``request`` from the event loop."""

    def __init__(self, *, connect_timeout: float = 3.05, timeout: float = 10.0, per_origin: int = 256,
                 max_idle: float = 30.0, ca_bundle: str | None = None,
                 trusted: Callable[[str], bool] = lambda origin: False,
                 resolver: Resolver = system_resolver):
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.per_origin = per_origin
        self.max_idle = max_idle
        self.ca_bundle = ca_bundle
        self.trusted = trusted
        self.resolver = resolver
        self._pools: dict[str, _Pool] = {}
        self._open: set[_Connection] = set()

    @property
    def connections(self) -> int:
        """Connections open now (in use or idle)."""
        return sum(1 for c in self._open if not c.closed)

    async def request(self, request: Request) -> Response:
        pool = self._pools.get(request.origin)
        if pool is None:
            pool = self._pools[request.origin] = _Pool()
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(pool, request)
        except TimeoutError:
            raise Timeout(f"timeout: no complete answer within {self.timeout:g} s") from None

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
                pool.note(conn.rtt)
            self._release(pool, None if conn.closed else conn)
            return response

    async def _acquire(self, pool: _Pool, origin: str) -> tuple[_Connection, bool]:
        """(connection, reused): an idle one; else a new one, while the pool
        has room (``per_origin``, and what its traffic needs: GROWTH) and fewer
        than MAX_CONNECTING are being opened; else the next one another request
        releases (reuse is cheaper than a TLS handshake)."""
        while True:
            conn = self._idle(pool)
            if conn is not None:
                return conn, True
            if pool.size < min(self.per_origin, pool.room) and pool.connecting < MAX_CONNECTING:
                pool.size += 1
                pool.connecting += 1
                try:
                    return await self._connect(origin), False
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

    def _release(self, pool: _Pool, conn: _Connection | None) -> None:
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

    def _idle(self, pool: _Pool) -> _Connection | None:
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

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._open.discard(conn)

    def sweep(self) -> None:
        """Close connections idle longer than ``max_idle`` (a quiet origin's too)."""
        for pool in self._pools.values():
            self._retire_idle(pool)

    async def _connect(self, origin: str) -> _Connection:
        scheme, _, hostport = origin.partition("://")
        host, port = _split_host_port(hostport, 443 if scheme == "https" else 80)
        try:
            async with asyncio.timeout(self.connect_timeout):
                addresses = await self.resolver(host, port)
        except TimeoutError:
            raise Unreachable(f"name lookup for {host} took over {self.connect_timeout:g} s") from None
        except OSError as exc:
            raise Unreachable(f"name lookup for {host} failed ({type(exc).__name__})") from None
        if not addresses:
            raise Unreachable(f"{host} has no address")
        guarded = not self.trusted(origin)
        loop = asyncio.get_running_loop()
        tried, last = 0, None
        for family, address in addresses:
            if guarded and not _public(address):
                continue
            tried += 1
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                async with asyncio.timeout(self.connect_timeout):
                    await loop.sock_connect(sock, address)
                    _, conn = await loop.create_connection(
                        _Connection, sock=sock, ssl=tls_context(self.ca_bundle) if scheme == "https" else None,
                        server_hostname=host if scheme == "https" else None)
            except ssl.SSLCertVerificationError as exc:
                sock.close()
                raise CertificateRefused(f"certificate of {host} refused: {exc.verify_message}") from None
            except ssl.SSLError as exc:
                sock.close()
                if "NO_APPLICATION_PROTOCOL" in str(exc).upper():
                    raise HTTP2Only(f"{host} speaks HTTP/2 only; this sender speaks HTTP/1.1") from None
                last = exc
                continue
            except (OSError, TimeoutError) as exc:
                sock.close()
                last = exc
                continue
            except BaseException:
                sock.close()
                raise
            self._open.add(conn)
            return conn
        if not tried:
            raise Refused(f"refused: {host} is not a public address")
        raise Unreachable(f"no address of {host} took the connection ({type(last).__name__})")

    def close(self) -> None:
        for pool in self._pools.values():
            pool.idle.clear()
        for conn in list(self._open):
            conn.close()
        self._open.clear()


def _split_host_port(hostport: str, default: int) -> tuple[str, int]:
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default
    host, sep, port = hostport.rpartition(":")
    return (host, int(port)) if sep else (hostport, default)
