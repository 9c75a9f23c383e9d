"""The dispatcher's fast way to send many pushes: a pool of threads, each with
its own keep-alive HTTP/1.1 connection per push-service origin.

Why not ``requests`` here: profiling a 2,000-message pass
(bench/README.md) showed ~450 µs of CPU per ``Session.post`` against ~120 µs
for the encryption itself; with the GIL that caps a process at ~1,500
messages/s whatever the number of threads. A push request is always the same
shape (one POST with a Content-Length body, one small answer), so this
module writes it and reads the answer directly on the socket: ~20 µs.
Everything else a careful sender needs is here: push.encrypt
(http_ece aes128gcm, a fresh ephemeral key and salt per message; only the
subscriber's public-key *object* is cached), the cached VAPID header from
push.VapidSigner, the same outcomes (push.SendResult: ok / gone / retry /
drop), timeouts on connect and on every read, no redirects, no proxies, and
connections only to public addresses (webapp.netguard) unless the origin was
configured on purpose (``trusted_origins``).

Encryption holds the GIL, so the threads of one process use one core;
ProcessFanout spreads the sends over several processes (UNKNOT_SEND_PROCESSES)
for a single dispatcher that must use more (see bench/README.md).

A connection that was idle may have been closed by the service; if it fails
before any byte of the answer arrives, the request is sent once more on a
new connection (a push carries a Topic, so a rare double replaces itself).
"""
from __future__ import annotations

import functools
import re
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import urlsplit

import certifi

from .netguard import public_addresses
from .push import SendResult, check_headers, encrypt, origin_of, parse_retry_after

USER_AGENT = "unknot-push/1"
MAX_HEADER_LINE = 8192
MAX_HEADERS = 100
MAX_BODY = 64 * 1024  # we read at most this much of an answer, then hang up


class _Disconnected(ConnectionError):
    """The connection ended before any byte of the answer."""


class ProtocolError(Exception):
    pass


class Refused(OSError):
    """The push service's name resolves to a non-public address."""


class _Connection:
    """One keep-alive HTTP/1.1 connection to one origin, used by one thread."""

    def __init__(self, origin: str, connect_timeout: float, read_timeout: float, guarded: bool):
        parts = urlsplit(origin)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.guarded = guarded
        self.sock = None
        self.rfile = None
        self.answers = 0  # answers read on the current socket

    def open(self):
        if self.guarded:
            try:
                infos = public_addresses(self.host, self.port)
            except socket.gaierror:
                raise  # the name does not resolve (now): try again later
            except OSError as exc:
                raise Refused(str(exc)) from None
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.connect_timeout)
                sock.connect(address)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                sock = _tls_context().wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=16384)
        self.answers = 0

    def close(self):
        if self.sock is not None:
            try:
                self.rfile.close()
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def exchange(self, request: bytes):
        """Send one request, read its answer: (status, headers, body)."""
        for attempt in (0, 1):
            reused = self.sock is not None and self.answers > 0
            if self.sock is None:
                self.open()
            try:
                self.sock.sendall(request)
                answer = self._read_answer()
            except (_Disconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # An idle connection the service had closed: try once more, fresh.
                if reused and attempt == 0:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            self.answers += 1
            return answer
        raise _Disconnected("connection closed")  # pragma: no cover

    def _read_answer(self):
        rfile = self.rfile
        while True:
            line = rfile.readline(MAX_HEADER_LINE + 1)
            if not line:
                raise _Disconnected("connection closed before an answer")
            try:
                version, code = line.split(None, 2)[:2]
                status = int(code)
            except ValueError:
                raise ProtocolError("not an HTTP status line") from None
            if not version.startswith(b"HTTP/1.") or not 100 <= status <= 599:
                raise ProtocolError("not an HTTP/1.x answer")
            headers = {}
            for _ in range(MAX_HEADERS + 1):
                h = rfile.readline(MAX_HEADER_LINE + 1)
                if h in (b"\r\n", b"\n"):
                    break
                if not h or len(h) > MAX_HEADER_LINE:
                    raise ProtocolError("bad header line")
                name, sep, value = h.partition(b":")
                if not sep:
                    raise ProtocolError("bad header line")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            else:
                raise ProtocolError("too many headers")
            if status < 200:  # 100 Continue, 103 Early Hints: the answer follows
                continue
            break
        keep = version != b"HTTP/1.0" and headers.get("connection", "").lower() != "close"
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
            if length < 0:
                raise ProtocolError("bad Content-Length")
            body = rfile.read(min(length, MAX_BODY))
            if length > MAX_BODY:
                keep = False
            elif len(body) < length:
                raise ProtocolError("answer cut short")
        else:  # the body ends when the connection does
            body = rfile.read(MAX_BODY)
            keep = False
        if not keep:
            self.close()
        return status, headers, body

    def _read_chunked(self):
        rfile, parts, total = self.rfile, [], 0
        while True:
            line = rfile.readline(MAX_HEADER_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError("bad chunk size") from None
            if size == 0:
                while rfile.readline(MAX_HEADER_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise ProtocolError("answer too large")
            chunk = rfile.read(size)
            rfile.readline(3)
            if len(chunk) < size:
                raise ProtocolError("answer cut short")
            parts.append(chunk)


@functools.lru_cache(maxsize=1)
def _tls_context():
    # certifi's CA bundle: the same trust as browsers' push stacks, whatever the host's store holds.
    ctx = ssl.create_default_context(cafile=certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Fanout:
    """Sends many pushes at once: ``send`` is safe from the pool's threads,
    ``run`` spreads a batch over the pool."""

    def __init__(self, signer, *, threads=64, connect_timeout=3.05, read_timeout=10.0,
                 trusted_origins=frozenset()):
        self.signer = signer
        self.threads = threads
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # Origins configured on purpose (tests, a private push service) may be
        # non-public addresses; every other connection must reach a public one.
        self.trusted_origins = trusted_origins
        self._local = threading.local()
        self._headers: dict[str, tuple[float, str]] = {}
        self._all: set[_Connection] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="push")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="push-results")

    # -- a batch over the pool ---------------------------------------------------

    def run(self, items, fn, *, until: float | None = None):
        """Call ``fn(item)`` for each item on the pool; an item not yet started
        when ``time.monotonic()`` passes ``until`` is left alone (the caller
        sees that ``fn`` never ran for it). Returns once every started call has."""
        items = list(items)
        if not items:
            return
        lock = threading.Lock()
        index = iter(range(len(items)))

        def drain():
            while True:
                with lock:
                    i = next(index, None)
                if i is None or (until is not None and time.monotonic() >= until):
                    return
                fn(items[i])

        futures = [self._pool.submit(drain) for _ in range(min(self.threads, len(items)))]
        wait(futures)
        for f in futures:
            f.result()

    def background(self, fn, *args):
        """Run ``fn(*args)`` on this pool's own writer thread; a Future."""
        return self._writer.submit(fn, *args)

    # -- one message -----------------------------------------------------------

    def send(self, endpoint: str, p256dh: str, auth: str, data: bytes, *, ttl: int, urgency: str,
             topic: str) -> SendResult:
        check_headers(ttl, urgency, topic)
        started = time.perf_counter()

        def result(status, outcome, error=None, retry_after=None, origin=""):
            return SendResult(status, outcome, retry_after, error, time.perf_counter() - started, origin)

        try:
            origin, netloc, target = _parse_endpoint(endpoint)
        except ValueError:
            return result(None, "drop", "invalid subscription: endpoint is not an http(s) URL")
        try:
            body = encrypt(p256dh, auth, data)
        except ValueError as exc:
            return result(None, "drop", f"invalid subscription: {exc}", origin=origin)
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Authorization: {self._authorization(origin)}\r\nContent-Encoding: aes128gcm\r\n"
            f"Content-Type: application/octet-stream\r\nTTL: {int(ttl)}\r\nUrgency: {urgency}\r\n"
            f"Topic: {topic}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        try:
            status, headers, text = self._connection(origin).exchange(head + body)
        except Refused:
            return result(None, "drop", f"refused: {origin} is not a public address", origin=origin)
        except (socket.timeout, TimeoutError):
            return result(None, "retry", f"timeout ({origin})", origin=origin)
        except (OSError, ProtocolError, ssl.SSLError) as exc:
            return result(None, "retry", f"{type(exc).__name__} ({origin})", origin=origin)
        if 200 <= status < 300:
            return result(status, "ok", origin=origin)
        error = f"HTTP {status}"
        detail = " ".join(_redact(text[:200].decode("utf-8", "replace"), endpoint).split())[:120]
        if detail:
            error = f"{error}: {detail}"
        if status in (404, 410):
            return result(status, "gone", error, origin=origin)
        if status == 429 or 500 <= status < 600:
            return result(status, "retry", error, parse_retry_after(headers.get("retry-after")), origin=origin)
        return result(status, "drop", error, origin=origin)

    def _authorization(self, origin) -> str:
        # The signer caches its token for hours; asking it once a minute per
        # origin saves its locking and URL parsing on every message.
        now = time.monotonic()
        cached = self._headers.get(origin)
        if cached is None or cached[0] < now:
            cached = self._headers[origin] = (now + 60, self.signer.header(origin))
        return cached[1]

    def _connection(self, origin) -> _Connection:
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get(origin)
        if conn is None:
            conn = conns[origin] = _Connection(origin, self.connect_timeout, self.read_timeout,
                                               guarded=origin not in self.trusted_origins)
            with self._lock:
                self._all.add(conn)
        return conn

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True)
        with self._lock:
            conns, self._all = list(self._all), set()
        for conn in conns:
            conn.close()


_SAFE = re.compile(r"[\x21-\x7e]+")


@functools.lru_cache(maxsize=65536)
def _parse_endpoint(endpoint: str):
    """(origin, Host header, request target) of an endpoint; ValueError if it
    is not an http(s) URL or would not fit on a request line as it is."""
    origin = origin_of(endpoint)
    parts = urlsplit(endpoint)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if "@" in parts.netloc or not _SAFE.fullmatch(target) or not _SAFE.fullmatch(parts.netloc):
        raise ValueError("endpoint cannot be sent as it is")
    return origin, parts.netloc, target


def _redact(text: str, endpoint: str) -> str:
    # The endpoint is a capability URL: its path must not end up in logs.
    path = urlsplit(endpoint).path
    text = text.replace(endpoint, "<endpoint>")
    return text.replace(path, "<path>") if len(path) > 1 else text


# -- several sender processes ----------------------------------------------------------

_child: Fanout | None = None


def _child_init(key_path, subject, threads, connect_timeout, read_timeout, trusted):
    global _child
    from .push import VapidSigner, load_or_create_vapid_key

    _child = Fanout(VapidSigner(load_or_create_vapid_key(key_path), subject), threads=threads,
                    connect_timeout=connect_timeout, read_timeout=read_timeout, trusted_origins=trusted)


def _child_send(chunk, until):
    out = [None] * len(chunk)

    def one(i):
        endpoint, p256dh, auth, data, ttl, urgency, topic = chunk[i]
        out[i] = _child.send(endpoint, p256dh, auth, data, ttl=ttl, urgency=urgency, topic=topic)

    _child.run(range(len(chunk)), one, until=until)
    return out


class ProcessFanout:
    """Fanout spread over ``processes`` sender processes (each with its own
    threads and connections), for one dispatcher to use several cores: the
    encryption holds the GIL, so threads alone use one. Messages go out in
    chunks; a message not started by ``until`` comes back as None."""

    def __init__(self, signer, key_path: str, *, processes: int, threads=64, connect_timeout=3.05,
                 read_timeout=10.0, trusted_origins=frozenset()):
        import multiprocessing

        self.processes = processes
        # fork: "spawn" would re-run the main module (the flask CLI) in each child.
        # The children only build their own sender from the key and never touch
        # what they inherit (database connections, locks of other threads).
        ctx = multiprocessing.get_context("fork")
        self._pool = ctx.Pool(processes, initializer=_child_init, initargs=(
            str(key_path), signer.subject, max(1, threads // processes), connect_timeout, read_timeout,
            frozenset(trusted_origins)))

    def send_many(self, messages: list[tuple], until: float | None) -> list[SendResult | None]:
        if not messages:
            return []
        size = max(1, -(-len(messages) // (self.processes * 4)))
        chunks = [messages[i:i + size] for i in range(0, len(messages), size)]
        results = []
        for part in self._pool.starmap(_child_send, [(c, until) for c in chunks]):
            results.extend(part)
        return results

    def close(self):
        self._pool.terminate()
        self._pool.join()
