"""A fast loopback push-service stand-in for the benchmarks.

It does what costs a real push service nothing we could measure: it reads
each HTTP/1.1 request (keep-alive, Content-Length bodies), answers
``201 Created`` and notes (receive time, path, Topic). No VAPID check, no
decryption: the tests' tests/pushservice.py does those; here the point is to
cost the sender's machine as little CPU as possible.

Run in its own process (``StandIn().start()`` forks one), optionally adding
a fixed latency before each answer, and over TLS with ``tls`` a server-side
``ssl.SSLContext`` (bench/peer.py makes one from a throwaway CA). ``GET /_stats`` answers JSON with the
count, the per-path counts of paths received more than once, and, with
``?times=1``, every (receive time, path) pair; ``POST /_reset`` forgets them.

    python -m bench.standin --port 8765 --latency-ms 30
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import signal
import socket
import ssl
import time
import urllib.request
from collections import Counter, deque

_CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"


class _Protocol(asyncio.Protocol):
    __slots__ = ("server", "transport", "buf", "need")

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.buf = b""

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            length, topic = _framing(buf, end)
            if len(buf) < end + 4 + length:
                break
            method, path = buf[:buf.find(b"\r\n")].split(b" ", 2)[:2]
            buf = buf[end + 4 + length:]
            self.server.request(self.transport, method, path, topic)
        self.buf = buf


def _framing(buf: bytes, end: int) -> tuple[int, bytes]:
    """(Content-Length, Topic) of the request head ending at ``end``: found
    directly in the spelling our sender uses, else by reading every line."""
    at = buf.find(b"\r\nContent-Length: ", 0, end)
    if at >= 0:
        stop = buf.find(b"\r\n", at + 18)
        length = int(buf[at + 18:stop if 0 <= stop <= end else end])
        at = buf.find(b"\r\nTopic: ", 0, end)
        if at < 0:
            return length, b""
        stop = buf.find(b"\r\n", at + 9)
        return length, buf[at + 9:stop if 0 <= stop <= end else end].strip()
    length, topic = 0, b""
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"topic":
            topic = value.strip()
    return length, topic


class _Server:
    def __init__(self, latency):
        self.latency = latency
        self.log = []  # (received_at, path, topic)
        self.loop = None
        # Answers waiting for their time, oldest first (one latency for all):
        # one timer for them all, not one each.
        self.waiting = deque()
        self.timer = None

    def request(self, transport, method, path, topic):
        if method == b"POST":
            self.log.append((time.time(), path, topic))
            if self.latency:
                self.waiting.append((self.loop.time() + self.latency, transport))
                if self.timer is None:
                    self.timer = self.loop.call_at(self.waiting[0][0], self.answer)
            else:
                transport.write(_CREATED)
            return
        if path.startswith(b"/_stats"):
            counts = Counter(p for _, p, _ in self.log)
            body = {
                "count": len(self.log),
                "distinct": len(counts),
                "repeats": {p.decode(): n for p, n in counts.items() if n > 1},
            }
            if b"times=1" in path:
                body["times"] = [(t, p.decode()) for t, p, _ in self.log]
                body["topics"] = sorted({t.decode() for _, _, t in self.log})
            data = json.dumps(body).encode()
        elif path.startswith(b"/_reset"):
            self.log = []
            data = b"{}"
        else:
            data = b"{}"
        transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                        % len(data) + data)

    def answer(self):
        """Every answer whose time has come, then the timer for the next."""
        now, waiting = self.loop.time(), self.waiting
        while waiting and waiting[0][0] <= now:
            transport = waiting.popleft()[1]
            if not transport.is_closing():
                transport.write(_CREATED)
        self.timer = self.loop.call_at(waiting[0][0], self.answer) if waiting else None




def serve(sock: socket.socket, latency: float, tls=None) -> None:
    """Serve on an already bound, listening socket until SIGTERM."""
    async def main():
        loop = asyncio.get_running_loop()
        server = _Server(latency)
        server.loop = loop
        srv = await loop.create_server(lambda: _Protocol(server), sock=sock, backlog=1024, ssl=tls)
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
        async with srv:
            await stop

    asyncio.run(main())


class StandIn:
    """The stand-in in a child process: ``with StandIn(latency=0.03) as s: s.origin``."""

    def __init__(self, latency: float = 0.0, port: int = 0, tls=None):
        self.latency = latency
        self.tls = tls
        self.port = port
        self.process = None
        self.origin = ""

    def start(self) -> "StandIn":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        self.origin = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        ctx = multiprocessing.get_context("fork")
        self.process = ctx.Process(target=serve, args=(sock, self.latency, self.tls), daemon=True)
        self.process.start()
        sock.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stats(self, times: bool = False) -> dict:
        url = f"{self.origin}/_stats" + ("?times=1" if times else "")
        with urllib.request.urlopen(url, timeout=30, context=self._client_tls()) as r:
            return json.load(r)

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.origin}/_reset", method="GET")
        urllib.request.urlopen(req, timeout=10, context=self._client_tls()).close()

    def _client_tls(self):
        # Our own control requests: the stand-in's certificate is the bench's own.
        if self.tls is None:
            return None
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    with StandIn(args.latency_ms / 1000, args.port) as s:
        print(f"push stand-in on {s.origin} (pid {s.process.pid}); Ctrl-C stops it", flush=True)
        try:
            s.process.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
