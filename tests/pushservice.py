"""A loopback Web Push service for tests and benchmarks (not a test module).

A real HTTP/1.1 server on 127.0.0.1 (random port, one thread per
connection) that checks each message the way a conforming push service
does (RFC 8030, 8291, 8292) and keeps what it accepted, decrypted::

    with PushService() as svc:
        sub = svc.make_subscription()          # PushSubscription.toJSON()
        ...send to sub["endpoint"]...
        [msg] = svc.wait_for(1, timeout=5)
        msg.payload                            # the decrypted JSON

Checks, in order; a failure is answered like a real service would and
recorded in ``svc.rejections`` with its reason:

- path ``/push/<id>`` of a known subscription, else 404;
- ``Authorization: vapid t=<jwt>, k=<key>``: k a P-256 point, the JWT
  ES256 and verified with k, ``aud`` equal to this server's origin,
  ``exp`` in the future and at most 24 h ahead, ``sub`` a mailto: or https:
  URL (401; ``aud`` mismatch 403); k equal to the subscription's
  applicationServerKey or the server-wide ``expected_key`` if given (403);
- ``TTL`` a non-negative integer, ``Urgency`` one of very-low|low|normal|
  high, ``Topic`` at most 32 base64url characters: all three required (400);
- ``Content-Encoding: aes128gcm`` (400), body at most 4096 bytes (413) that
  decrypts with the subscription's private key and auth secret (400).

Accepted: 201 and a ``Message`` in ``svc.messages``.

Misbehaviour on demand, for one subscription or for all (a subscription's
own rule wins), forever or for the next ``times`` requests::

    svc.respond(410)                                   # every request
    svc.respond(429, retry_after=120, subscription=sub)
    svc.respond(500, times=1)                          # once, then normal
    svc.respond(301, location="http://127.0.0.1:1/x")
    svc.respond("hang", seconds=2)    # wait (bounded), then answer as usual
    svc.respond("reset")              # read the request, then TCP RST
    svc.respond("trickle", seconds=5) # a 201, one byte at a time, for that long
    svc.respond(None)                 # back to normal

Over TLS: ``PushService(tls=ssl_context, host="push.test")`` serves https
(tests/tlspushservice.py makes the throwaway CA and certificates); ``host``
names the origin its endpoints and its expected ``aud`` use. ``idle_timeout``
closes keep-alive connections idle that long. ``accepted`` counts the
connections taken, ``peak`` the most open at once.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["PushService", "Message", "Rejection"]

MAX_BODY = 4096
MAX_HANG = 30.0
URGENCIES = ("very-low", "low", "normal", "high")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_PATH = re.compile(r"/push/([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Message:
    """One accepted message."""

    subscription_id: str
    path: str
    headers: dict[str, str]  # names lowercased
    plaintext: bytes
    payload: Any  # plaintext parsed as JSON, None if it is not JSON
    token: str  # the VAPID JWT
    claims: dict
    received_at: float  # time.time()


@dataclass(frozen=True)
class Rejection:
    """One request answered with an error because it broke a rule."""

    path: str
    status: int
    reason: str
    received_at: float


@dataclass
class _Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str | None


@dataclass
class _Rule:
    mode: Any  # an int status, "hang" or "reset"
    retry_after: Any = None
    location: str | None = None
    seconds: float = 2.0
    times: int | None = None  # None: forever


@dataclass
class _State:
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    rules: dict[str, _Rule] = field(default_factory=dict)
    global_rule: _Rule | None = None
    messages: list[Message] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    hits: int = 0
    arrived: list[str] = field(default_factory=list)  # every request's path, on arrival


class PushService:
    """The loopback push service; use as a context manager or start()/stop()."""

    def __init__(self, *, expected_key: str | None = None, tls=None, host: str = "127.0.0.1",
                 idle_timeout: float = 30.0):
        self.expected_key = expected_key
        self.tls = tls
        self.host = host
        self.idle_timeout = idle_timeout
        self.accepted = 0
        self.peak = 0
        self._state = _State()
        self._cond = threading.Condition()
        self._release = threading.Event()  # wakes hanging handlers on stop()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.origin = ""

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> "PushService":
        server = _Server(("127.0.0.1", 0), _Handler)
        server.service = self
        self._server = server
        self.origin = f"{'https' if self.tls else 'http'}://{self.host}:{server.server_address[1]}"
        self._release.clear()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"pushservice-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            connections, self._connections = list(self._connections), set()
        for conn in connections:  # end keep-alive connections still open
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "PushService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])

    # -- test API ------------------------------------------------------------

    def make_subscription(self, *, application_server_key: str | None = None) -> dict:
        """A new PushSubscription.toJSON(); the server keeps its private key.

        `application_server_key` binds the subscription to a VAPID key, as
        PushManager.subscribe({applicationServerKey}) does.
        """
        sub_id = secrets.token_urlsafe(24)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        with self._cond:
            self._state.subscriptions[sub_id] = _Subscription(key, auth, application_server_key)
        return {
            "endpoint": f"{self.origin}/push/{sub_id}",
            "expirationTime": None,
            "keys": {"p256dh": _b64(point), "auth": _b64(auth)},
        }

    def respond(self, mode, *, subscription: dict | str | None = None, times: int | None = None,
                retry_after: int | str | None = None, location: str | None = None,
                seconds: float = 2.0) -> None:
        """Answer requests with `mode` (an HTTP status, "hang", "reset" or "trickle");
        None or "accept" restores normal checking."""
        rule = None
        if mode not in (None, "accept"):
            if not (mode in ("hang", "reset", "trickle") or (isinstance(mode, int) and 300 <= mode <= 599)):
                raise ValueError(f"unknown mode {mode!r}")
            rule = _Rule(mode, retry_after, location, min(float(seconds), MAX_HANG), times)
        with self._cond:
            if subscription is None:
                self._state.global_rule = rule
            else:
                sub_id = _sub_id(subscription)
                if rule is None:
                    self._state.rules.pop(sub_id, None)
                else:
                    self._state.rules[sub_id] = rule

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Message]:
        """Wait (at most `timeout`, capped at 60 s) for `n` accepted messages."""
        deadline = time.monotonic() + min(timeout, 60.0)
        with self._cond:
            while len(self._state.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self._state.messages)} of {n} messages arrived; "
                        f"rejections: {[r.reason for r in self._state.rejections][-5:]}"
                    )
                self._cond.wait(left)
            return list(self._state.messages)

    @property
    def messages(self) -> list[Message]:
        with self._cond:
            return list(self._state.messages)

    @property
    def rejections(self) -> list[Rejection]:
        with self._cond:
            return list(self._state.rejections)

    @property
    def hits(self) -> int:
        """Requests received, whatever became of them."""
        with self._cond:
            return self._state.hits

    @property
    def arrived(self) -> list[str]:
        """Every request's path as it arrived, before any answer (so a test
        knows what was in flight when it killed a sender)."""
        with self._cond:
            return list(self._state.arrived)

    def clear(self) -> None:
        """Forget messages, rejections, hits and arrivals (subscriptions and rules stay)."""
        with self._cond:
            self._state.messages.clear()
            self._state.rejections.clear()
            self._state.hits = 0
            self._state.arrived.clear()

    # -- request handling (called from handler threads) ------------------------

    def _handle(self, handler: "_Handler", body: bytes) -> None:
        now = time.time()
        path = handler.path
        with self._cond:
            self._state.hits += 1
            self._state.arrived.append(path)
            m = _PATH.fullmatch(path)
            sub_id = m.group(1) if m else None
            sub = self._state.subscriptions.get(sub_id) if sub_id else None
            rule = self._take_rule(sub_id)

        if rule is not None:
            if rule.mode == "reset":
                handler.reset()
                return
            if rule.mode == "trickle":
                handler.trickle(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", rule.seconds,
                                self._release)
                return
            if rule.mode == "hang":
                self._release.wait(rule.seconds)
            else:
                headers = {}
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(rule.retry_after)
                if 300 <= rule.mode < 400:
                    headers["Location"] = rule.location or f"{self.origin}/redirected"
                handler.answer(rule.mode, f"simulated {rule.mode}", headers)
                return

        if sub is None:
            self._reject(handler, path, 404, "no such subscription", now)
            return
        status, outcome = self._check(handler, sub, body, now)
        if status != 201:
            self._reject(handler, path, status, outcome, now)
            return
        with self._cond:
            self._state.messages.append(Message(
                subscription_id=sub_id,
                path=path,
                headers={k.lower(): v for k, v in handler.headers.items()},
                plaintext=outcome["plaintext"],
                payload=outcome["payload"],
                token=outcome["token"],
                claims=outcome["claims"],
                received_at=now,
            ))
            self._cond.notify_all()
        handler.answer(201, "", {"Location": f"{self.origin}/message/{uuid.uuid4().hex}",
                                 "TTL": handler.headers.get("TTL", "0")})

    def _take_rule(self, sub_id: str | None) -> _Rule | None:
        # Called with the lock held.
        rules = self._state.rules
        rule = rules.get(sub_id) if sub_id else None
        own = rule is not None
        if rule is None:
            rule = self._state.global_rule
        if rule is not None and rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                if own:
                    del rules[sub_id]
                else:
                    self._state.global_rule = None
        return rule

    def _reject(self, handler, path, status, reason, now) -> None:
        with self._cond:
            self._state.rejections.append(Rejection(path, status, reason, now))
            self._cond.notify_all()
        handler.answer(status, reason)

    def _check(self, handler, sub: _Subscription, body: bytes, now: float):
        """(201, details) for a conforming message, else (status, reason)."""
        h = handler.headers
        auth = h.get("Authorization")
        if not auth:
            return 401, "missing Authorization"
        scheme, _, params = auth.partition(" ")
        if scheme.lower() != "vapid":
            return 401, "Authorization scheme is not vapid"
        fields = {}
        for part in params.split(","):
            name, sep, value = part.strip().partition("=")
            if not sep:
                return 401, "malformed vapid parameters"
            fields[name.strip().lower()] = value.strip()
        token, k = fields.get("t"), fields.get("k")
        if not token or not k:
            return 401, "vapid needs both t and k"
        try:
            point = _unb64(k)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            if len(point) != 65:
                raise ValueError
        except ValueError:
            return 401, "k is not an uncompressed P-256 public key"
        expected = sub.server_key or self.expected_key
        if expected is not None and k != expected:
            return 403, "k is not the applicationServerKey of this subscription"

        parts = token.split(".")
        if len(parts) != 3:
            return 401, "t is not a JWT"
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except ValueError:
            return 401, "JWT is not base64url JSON"
        if not isinstance(header, dict) or header.get("alg") != "ES256":
            return 401, "JWT alg is not ES256"
        if header.get("typ", "JWT") != "JWT":
            return 401, "JWT typ is not JWT"
        if len(signature) != 64:
            return 401, "ES256 signature is not 64 bytes (r||s)"
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return 401, "JWT signature does not verify with k"
        if not isinstance(claims, dict):
            return 401, "JWT claims are not an object"
        if claims.get("aud") != self.origin:
            return 403, f"aud {claims.get('aud')!r} is not {self.origin}"
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            return 401, "exp is not an integer"
        if exp <= now:
            return 401, "JWT expired"
        if exp > now + 86400:
            return 401, "exp is more than 24 hours ahead"
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.startswith(("mailto:", "https:")):
            return 401, "sub is not a mailto: or https: URL"

        ttl = h.get("TTL")
        if ttl is None:
            return 400, "missing TTL"
        if not (ttl.isascii() and ttl.isdigit()):
            return 400, "TTL is not a non-negative integer"
        urgency = h.get("Urgency")
        if urgency not in URGENCIES:
            return 400, f"Urgency {urgency!r} is not one of {URGENCIES}"
        topic = h.get("Topic")
        if topic is None or not _TOPIC.fullmatch(topic):
            return 400, "Topic missing or not 1-32 base64url characters"
        if h.get("Content-Encoding") != "aes128gcm":
            return 400, "Content-Encoding is not aes128gcm"
        if len(body) > MAX_BODY:
            return 413, f"body of {len(body)} bytes is over {MAX_BODY}"
        if len(body) < 21 + 65 + 17:
            return 400, "body too short for aes128gcm"
        if body[20] != 65:
            return 400, "aes128gcm keyid is not a 65-byte public key"
        try:
            plaintext = http_ece.decrypt(body, private_key=sub.private_key,
                                         auth_secret=sub.auth, version="aes128gcm")
        except (http_ece.ECEException, ValueError) as exc:
            return 400, f"cannot decrypt: {getattr(exc, 'message', exc)}"
        try:
            payload = json.loads(plaintext)
        except ValueError:
            payload = None
        return 201, {"plaintext": plaintext, "payload": payload, "token": token, "claims": claims}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A real push service takes hundreds of new connections at once; the
    # default backlog of 5 would refuse a burst from several dispatchers.
    request_queue_size = 1024

    def get_request(self):
        sock, address = super().get_request()
        service = self.service
        with service._cond:
            service.accepted += 1
        if service.tls is not None:  # the handshake happens in the handler's thread
            sock = service.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return  # clients hang up on purpose (timeouts, resets)
        super().handle_error(request, client_address)  # a bug here: show it


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real push services do
    timeout = 30  # idle keep-alive connections end on their own

    def setup(self):
        svc = self.server.service
        self.timeout = svc.idle_timeout
        if svc.tls is not None:
            self.request.settimeout(5)
            self.request.do_handshake()  # a client refusing our certificate ends here (handle_error)
        super().setup()
        with svc._cond:
            svc._connections.add(self.request)
            svc.peak = max(svc.peak, len(svc._connections))

    def finish(self):
        svc = self.server.service
        with svc._cond:
            svc._connections.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def do_POST(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.answer(411, "Content-Length required")
            self.close_connection = True
            return
        length = int(length)
        if length > 1 << 20:
            self.answer(413, "far too large")
            self.close_connection = True
            return
        body = self.rfile.read(length)
        self.server.service._handle(self, body)

    def do_GET(self):
        self.answer(405, "push endpoints take POST", {"Allow": "POST"})

    do_PUT = do_DELETE = do_GET

    def answer(self, status: int, text: str, headers: dict | None = None) -> None:
        data = text.encode("utf-8")
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. after a hang)

    def trickle(self, answer: bytes, seconds: float, stop: threading.Event) -> None:
        """Send ``answer`` one byte at a time, spread over ``seconds``."""
        self.close_connection = True
        pause = min(seconds, MAX_HANG) / len(answer)
        try:
            for i in range(len(answer)):
                self.wfile.write(answer[i:i + 1])
                self.wfile.flush()
                if stop.wait(pause):
                    return
        except OSError:
            pass

    def reset(self) -> None:
        """Abort the connection with a TCP RST instead of answering."""
        self.close_connection = True
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()
        except OSError:
            pass

    def log_message(self, format, *args):  # quiet
        pass


def _sub_id(subscription: dict | str) -> str:
    if isinstance(subscription, dict):
        subscription = subscription["endpoint"]
    return subscription.rstrip("/").rsplit("/", 1)[-1]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
