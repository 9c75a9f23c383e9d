"""One keep-alive HTTP/1.1 connection: writes a request, parses its answer as the bytes arrive.

An asyncio protocol, one request at a time, its answer handed to a callback."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from webapp.push.failures import Disconnected, Failure, HTTP2Only, ProtocolError

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
MAX_BODY = 64 * 1024  # we keep at most this much of an answer, then hang up


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer (a
    Response or a Failure) handed to a callback, with no future or task
    in between (webapp.push.http1 runs hundreds of these)."""

    __slots__ = ("transport", "buf", "callback", "arg", "received", "closed", "idle_since", "sent_at", "rtt")

    def __init__(self):
        self.sent_at = self.rtt = 0.0  # when the request went out; how long its answer took
        self.transport = None
        self.buf = bytearray()
        self.callback = self.arg = None  # who gets the current answer: callback(arg, answer)
        self.received = 0  # bytes of the current answer
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport):
        self.transport = transport

    def begin(self, data: bytes, callback, arg) -> None:
        """Write a request; ``callback(arg, Response or Failure)`` once, later.
        Only on an open connection (``closed`` false; else see ``failure``)."""
        self.callback, self.arg = callback, arg
        self.buf.clear()
        self.received = 0
        self.sent_at, self.rtt = time.monotonic(), 0.0
        self.transport.write(data)

    def failure(self) -> Failure:
        """Why a closed connection cannot carry a request: what it said
        unasked (HTTP/2's greeting, say), else that it closed."""
        if self.buf:
            try:
                parse(self.buf, eof=True)
            except Failure as exc:
                return exc
        return Disconnected("connection closed before an answer")

    def _answer(self, answer) -> None:
        callback, arg = self.callback, self.arg
        if callback is not None:
            self.callback = self.arg = None
            callback(arg, answer)

    def data_received(self, data):
        if self.callback is None:  # nothing was asked: not a connection to keep
            self.buf += data[:MAX_HEAD]  # kept for failure() to say what it was
            self.close()
            return
        self.buf += data
        self.received += len(data)
        try:
            answer = parse(self.buf, eof=False)
        except Failure as exc:
            self.close()
            self._answer(exc)
            return
        if answer is not None:
            response, keep = answer
            self.rtt = time.monotonic() - self.sent_at
            if not keep:
                self.close()  # before the answer is handed on: nobody may reuse this one
            self._answer(response)

    def eof_received(self):
        return False  # close the transport

    def connection_lost(self, exc):
        self.closed = True
        if self.callback is None:
            return
        if not self.received:
            self._answer(Disconnected("connection closed before an answer"))
            return
        try:
            response, _ = parse(self.buf, eof=True)
        except Failure as failure:
            self._answer(failure)
        else:
            self._answer(response)

    def close(self):
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def parse(buf: bytearray, eof: bool):
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
