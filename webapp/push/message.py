"""Web Push messages (no Flask): the payload, its aes128gcm encryption and
the RFC 8030 headers, and what became of a send.

- RFC 8291 / 8188: payloads are encrypted aes128gcm with http_ece, with a new
  ephemeral key and salt per message, one record of at most MAX_BODY bytes.
- RFC 8030: TTL, Urgency and Topic headers, and the outcomes of a send
  (SendResult) the dispatcher acts on: ok, gone, retry, drop, config.

VAPID is webapp.push.vapid; the sending webapp.push.sender (over
webapp.push.http1); what each answer means, webapp.push.outcomes.
"""
from __future__ import annotations

import base64
import email.utils
import functools
import json
import math
import re
import time
from datetime import timezone
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# The strictest route sets the limit: Mozilla relays to Firefox for Android
# through FCM, which takes about 3 KB, not the 4096 bytes RFC 8030 asks of
# every service. 3072-byte body - 86-byte header (salt 16, rs 4, idlen 1,
# key 65) - 16-byte tag - 1 delimiter.
MAX_BODY = 3072
MAX_PAYLOAD = MAX_BODY - 86 - 16 - 1
RECORD_SIZE = 4096
URGENCIES = ("very-low", "low", "normal", "high")
DEFAULT_PORTS = {"http": 80, "https": 443}

# Longest Retry-After we pass on (a week); guards against absurd values.
MAX_RETRY_AFTER = 7 * 24 * 3600

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A reminder kind's name (webapp.reminders.kinds): short and URL-safe, as it
# goes into the Topic header.
_KIND = re.compile(r"[A-Za-z0-9_-]{1,16}")


class PayloadTooLarge(ValueError):
    """The payload would not fit the strictest push route (MAX_BODY)."""


# -- payload ----------------------------------------------------------------------

def encode_payload(kind: str, title: str, body: str, url: str, tag: str) -> bytes:
    """The JSON the service worker reads, compact; PayloadTooLarge past MAX_PAYLOAD bytes.
    Which kinds exist is the registry's business; here a kind need only be a name."""
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError("kind must be 1-16 URL-safe characters")
    for name, value in (("title", title), ("body", body), ("tag", tag)):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
    if not _same_origin_path(url):
        raise ValueError("url must be a same-origin path such as /guide/calf")
    data = compact_json({"kind": kind, "title": title, "body": body, "url": url, "tag": tag})
    if len(data) > MAX_PAYLOAD:
        raise PayloadTooLarge(f"payload is {len(data)} bytes; at most {MAX_PAYLOAD} fit")
    return data


def _same_origin_path(url) -> bool:
    """A path on our own origin that resolves to itself: one leading "/", no
    "//", backslash, dot segment (escaped or not) or control character, so
    no browser reads it as another host ("//host", "/\\host", "/..//host")."""
    if not isinstance(url, str) or not url.startswith("/") or any(ord(c) < 0x21 or c == "\\" for c in url):
        return False
    path = url.split("?", 1)[0].split("#", 1)[0]
    return "//" not in path and all(unquote(s) not in (".", "..") for s in path.split("/"))


def topic_for(kind: str) -> str:
    """The Topic header: one per kind, so a newer reminder replaces an older
    one the push service still holds (a phone that was off gets one, not ten)."""
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError("kind must be 1-16 URL-safe characters")
    return f"unknot-{kind}"


# -- encryption ------------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def subscriber_keys(p256dh: str, auth: str):
    """(public-key object, auth secret) of a subscription, checked once and
    then reused: loading the point costs more than one would think."""
    try:
        point = b64url_decode(p256dh)
        secret = b64url_decode(auth)
    except (TypeError, ValueError) as exc:
        raise ValueError("subscription keys must hold base64url p256dh and auth") from exc
    if len(point) != 65 or point[0] != 4:
        raise ValueError("p256dh must be a 65-byte uncompressed P-256 point")
    if len(secret) != 16:
        raise ValueError("auth must be 16 bytes")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise ValueError("p256dh is not a valid P-256 public key") from exc
    return key, secret


def encrypt(p256dh: str, auth: str, data: bytes) -> bytes:
    """aes128gcm (RFC 8291) for a subscription's keys: a fresh ephemeral key
    and random salt for every message, one record. ValueError on malformed
    keys, PayloadTooLarge past MAX_PAYLOAD bytes."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("data must be bytes (see encode_payload)")
    if len(data) > MAX_PAYLOAD:
        raise PayloadTooLarge(f"payload is {len(data)} bytes; at most {MAX_PAYLOAD} fit")
    key, secret = subscriber_keys(p256dh, auth)
    return http_ece.encrypt(data, private_key=ec.generate_private_key(ec.SECP256R1()), dh=key,
                            auth_secret=secret, rs=RECORD_SIZE, version="aes128gcm")


def warm_up() -> None:
    """One encryption to a throwaway subscription. A forked sender process
    runs it while its parent claims the first rows: the first encryption
    in a new process meets about a thousand copy-on-write page faults
    (6-18 ms on a busy two-core machine), which then no longer hold up the
    pass's first requests."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    encrypt(b64url(point), b64url(bytes(16)), b"{}")


def check_headers(ttl, urgency, topic) -> None:
    """The RFC 8030 headers we send, checked before they go on the wire."""
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 1:
        raise ValueError("ttl must be a whole number of seconds, at least 1")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
    if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
        raise ValueError("topic must be 1-32 URL-safe base64 characters")


# -- sending ---------------------------------------------------------------------

class SendResult(NamedTuple):
    """What became of one send (a named tuple: a sender process pickles
    thousands a second, and a tuple pickles several times faster than a
    frozen dataclass).

    outcome: "ok" | "gone" (forget the subscription) | "retry" (`retry_after`
    seconds if the service said) | "drop" (do not retry this message) |
    "config" (our VAPID key, subject or TLS trust is refused: keep the
    subscription, tell the operator); webapp/outcomes.py maps every answer
    and failure to one. `error` never contains the endpoint URL, only its origin.
    `elapsed` covers the whole send, encryption included.
    """

    status: int | None
    outcome: str
    retry_after: int | None = None
    error: str | None = None
    elapsed: float = 0.0
    origin: str = ""


def parse_retry_after(value: str | None, now: float | None = None) -> int | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(int(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return min(max(0, math.ceil(when.timestamp() - now)), MAX_RETRY_AFTER)


# -- small helpers ----------------------------------------------------------------

def origin_of(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, lowercased, default port dropped."""
    if not isinstance(url, str):
        raise ValueError("not a URL")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise ValueError("not an http(s) URL")
    port = parts.port  # ValueError for a bad port
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text) -> bytes:
    if isinstance(text, bytes):
        text = text.decode("ascii")
    if not isinstance(text, str):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
