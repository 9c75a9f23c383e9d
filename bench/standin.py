"""The benchmarks' loopback push-service stand-in.

It does what costs a real push service nothing we could measure: it reads
each HTTP/1.1 request (keep-alive, Content-Length bodies), answers
``201 Created`` and notes (receive time, path, Topic). No VAPID check, no
decryption: the tests' tests/pushservice.py does those. A push service 50 ms
away costs the sender's machine no CPU at all; this one shares the
benchmark's cores, so it must cost them as little as it can.

Two servers do it, each in a process of its own, optionally adding a
fixed latency before each answer:

- plain HTTP: ``bench/standin.c``, one epoll loop in C, compiled with the
  system's C compiler on first use, into ``bench/.build/``;
- over TLS, with ``tls`` a server-side ``ssl.SSLContext`` (bench/peer.py
  makes one from a throwaway CA): the asyncio server in this module.

Both append a line per request, "time path topic", to a log file of their
own, written out before they answer ``GET /_stats`` (``StandIn.count``,
``StandIn.stats``); ``GET /_reset`` empties it.

    python -m bench.standin --port 8765 --latency-ms 30
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter, deque

_CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin.c")
_BINARY = os.path.join(os.path.dirname(_SOURCE), ".build", "standin")


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
    def __init__(self, latency, log_path):
        self.latency = latency
        self.log_path = log_path
        self.log = []  # (received_at, path, topic) not yet written to log_path
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
            with open(self.log_path, "ab") as f:
                f.writelines(b"%.6f %s %s\n" % entry for entry in self.log)
            self.log = []
        elif path.startswith(b"/_reset"):
            open(self.log_path, "wb").close()
            self.log = []
        transport.write(_OK)

    def answer(self):
        """Every answer whose time has come, then the timer for the next."""
        now, waiting = self.loop.time(), self.waiting
        while waiting and waiting[0][0] <= now:
            transport = waiting.popleft()[1]
            if not transport.is_closing():
                transport.write(_CREATED)
        self.timer = self.loop.call_at(waiting[0][0], self.answer) if waiting else None




def serve(sock: socket.socket, latency: float, tls, log_path: str) -> None:
    """Serve TLS on an already bound, listening socket until SIGTERM."""
    async def main():
        loop = asyncio.get_running_loop()
        server = _Server(latency, log_path)
        server.loop = loop
        srv = await loop.create_server(lambda: _Protocol(server), sock=sock, backlog=1024, ssl=tls)
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
        async with srv:
            await stop

    asyncio.run(main())


def _binary() -> str:
    """bench/standin.c compiled (again, once the source is newer)."""
    if not os.path.exists(_BINARY) or os.path.getmtime(_BINARY) < os.path.getmtime(_SOURCE):
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise RuntimeError("the plain-HTTP stand-in needs a C compiler (cc or gcc) to build bench/standin.c")
        os.makedirs(os.path.dirname(_BINARY), exist_ok=True)
        building = f"{_BINARY}.{os.getpid()}"
        subprocess.run([compiler, "-O2", "-Wall", "-o", building, _SOURCE], check=True)
        os.replace(building, _BINARY)  # whole, even with another benchmark building it at once
    return _BINARY


class StandIn:
    """The stand-in in a process of its own: ``with StandIn(latency=0.03) as s: s.origin``."""

    def __init__(self, latency: float = 0.0, port: int = 0, tls=None):
        self.latency = latency
        self.tls = tls
        self.port = port
        self.process = None  # its pid is the stand-in's (bench.budget reads its CPU time)
        self.origin = ""
        self.log_path = ""

    def start(self) -> "StandIn":
        binary = _binary() if self.tls is None else None  # before anything that would need closing
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        self.origin = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        fd, self.log_path = tempfile.mkstemp(prefix="standin-", suffix=".log")
        os.close(fd)
        if self.tls is None:
            self.process = subprocess.Popen(
                [binary, str(sock.fileno()), str(round(self.latency * 1e6)), self.log_path],
                pass_fds=[sock.fileno()])
        else:
            self.process = multiprocessing.get_context("fork").Process(
                target=serve, args=(sock, self.latency, self.tls, self.log_path), daemon=True)
            self.process.start()
        sock.close()
        return self

    def wait(self, timeout: float | None = None) -> None:
        """Until the stand-in's process ends, or ``timeout`` seconds."""
        if isinstance(self.process, subprocess.Popen):
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            self.process.join(timeout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.wait(5)
            self.process.kill()  # nothing, if it has ended
            self.wait(5)
            self.process = None
            os.unlink(self.log_path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _log(self) -> bytes:
        """A line for every request since the last reset (the stand-in
        writes out what it holds before it answers /_stats)."""
        with urllib.request.urlopen(f"{self.origin}/_stats", timeout=30, context=self._client_tls()) as r:
            r.read()
        with open(self.log_path, "rb") as f:
            return f.read()

    def count(self) -> int:
        """Requests received since the last reset."""
        return self._log().count(b"\n")

    def stats(self, times: bool = False) -> dict:
        """``count``, ``distinct`` paths and the paths received more than
        once (``repeats``, with their counts); with ``times``, every
        (receive time, path) and the Topics seen."""
        entries = [line.split(b" ") for line in self._log().splitlines()]
        counts = Counter(path for _, path, _ in entries)
        body = {"count": len(entries), "distinct": len(counts),
                "repeats": {p.decode(): n for p, n in counts.items() if n > 1}}
        if times:
            body["times"] = [(float(t), p.decode()) for t, p, _ in entries]
            body["topics"] = sorted({topic.decode() for _, _, topic in entries})
        return body

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.origin}/_reset", timeout=10, context=self._client_tls()).close()

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
            s.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
