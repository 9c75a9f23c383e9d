"""VAPID (RFC 8292): the application server's key, made once and kept
private, and the ES256 JWT per push-service origin, cached for hours since
signing is the costliest step of a send after encryption."""
from __future__ import annotations

import threading
import time
from datetime import datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from webapp.push.message import b64url, compact_json, origin_of
from webapp.store.private_files import InsecureFile, load_or_create

JWT_LIFETIME = 12 * 3600
# Re-sign once less than this is left, so a token never expires in flight.
JWT_MIN_REMAINING = 3600

class VapidKeyError(Exception):
    """The VAPID key file exists but may not (or cannot) be used."""


# -- VAPID key ----------------------------------------------------------------

def load_or_create_vapid_key(path) -> ec.EllipticCurvePrivateKey:
    """Load the P-256 VAPID key from `path`, creating it (mode 0600) if missing.

    Refuses a file others may read: the key lets anyone push to every
    subscriber. Concurrent starters all end up with the same key.
    """
    try:
        data = load_or_create(path, _new_key_pem)
    except InsecureFile as exc:
        raise VapidKeyError(f"VAPID key: {exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise VapidKeyError(f"VAPID key {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise VapidKeyError(f"VAPID key {path} is not a P-256 (prime256v1) key")
    return key


def _new_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_b64(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    """The applicationServerKey: base64url, unpadded, of the 65-byte point."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(raw)


# -- VAPID signature --------------------------------------------------------------

class VapidSigner:
    """Makes the `Authorization: vapid t=…, k=…` header for a push-service origin.

    A token lives 12 hours and is reused per audience until less than an hour
    is left, so most sends cost no signature at all.
    """

    def __init__(self, key: ec.EllipticCurvePrivateKey, subject: str):
        if not isinstance(subject, str) or not (
            (subject.startswith("mailto:") and len(subject) > len("mailto:"))
            or (subject.startswith("https://") and len(subject) > len("https://"))
        ):
            raise ValueError("VAPID subject must be a mailto: or https:// URL")
        self._key = key
        self.subject = subject
        self.public_key = public_key_b64(key)
        self._cache: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def header(self, audience_origin: str, now: float | datetime | None = None) -> str:
        """The Authorization header value for requests to `audience_origin`."""
        aud = origin_of(audience_origin)
        if now is None:
            now = time.time()
        elif isinstance(now, datetime):
            now = now.timestamp()
        with self._lock:
            cached = self._cache.get(aud)
            if cached is not None and cached[0] - now >= JWT_MIN_REMAINING:
                return cached[1]
            exp = int(now) + JWT_LIFETIME
            value = f"vapid t={self._jwt(aud, exp)}, k={self.public_key}"
            self._cache[aud] = (exp, value)
            return value

    def _jwt(self, aud: str, exp: int) -> str:
        header = b64url(compact_json({"typ": "JWT", "alg": "ES256"}))
        claims = b64url(compact_json({"aud": aud, "exp": exp, "sub": self.subject}))
        signing_input = f"{header}.{claims}".encode("ascii")
        r, s = decode_dss_signature(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return f"{header}.{claims}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
