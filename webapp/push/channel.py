"""The app's push channel: VAPID key and signer, and the endpoints we may call;
and what production requires of them."""
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from webapp.config import DEFAULT_VAPID_SUBJECT, settings
from webapp.push.endpoints import AllowList
from webapp.push.vapid import VapidSigner, load_or_create_vapid_key, public_key_b64


@dataclass
class PushChannel:
    public_key: str
    signer: VapidSigner
    allowed: AllowList


def init_app(app):
    s = settings(app)
    key = load_or_create_vapid_key(s.vapid_private_key)
    allowed = AllowList.parse(s.push_allowed_origins)
    app.extensions["unknot_push"] = PushChannel(
        public_key=public_key_b64(key),
        signer=VapidSigner(key, s.vapid_subject),
        allowed=allowed,
    )


def channel(app=None) -> PushChannel:
    return (app or current_app).extensions["unknot_push"]


_MAILTO = re.compile(r"mailto:[^@\s<>]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}", re.IGNORECASE)


def subject_problem(subject) -> str | None:
    """Why ``subject`` is no contact a push service operator could use, or None.
    Apple refuses subjects with spaces or angle brackets, and a default or
    localhost address reaches nobody."""
    if not isinstance(subject, str) or not subject:
        return "is not set"
    if subject == DEFAULT_VAPID_SUBJECT:
        return f"is still the default ({DEFAULT_VAPID_SUBJECT}); set your own contact"
    if re.search(r"[\s<>]", subject):
        return "must not contain spaces or angle brackets (Apple refuses them)"
    if subject.lower().startswith("mailto:"):
        host = subject.rpartition("@")[2].lower()
        if host != "localhost" and _MAILTO.fullmatch(subject) is None:
            return "is not a valid mailto: address (mailto:you@example.org)"
    elif subject.lower().startswith("https:"):
        parts = urlsplit(subject)
        host = (parts.hostname or "").lower()
        if not host or parts.username is not None or ("." not in host and host != "localhost"):
            return "is not a valid https: URL (https://example.org/contact)"
    else:
        return "must be a mailto: address or an https: URL"
    if host == "localhost" or host.endswith((".localhost", ".local", ".test", ".invalid", ".example")):
        return f"names {host}, which no push service operator can reach"
    return None


def check_production(s) -> None:
    """With UNKNOT_PRODUCTION=true, refuse to start without one shared VAPID
    key and a real VAPID subject: every web process and worker must sign with
    the same key (subscriptions are bound to it), so none may make its own."""
    path = s.vapid_private_key
    if not path:
        raise RuntimeError(
            "UNKNOT_VAPID_PRIVATE_KEY must be set when UNKNOT_PRODUCTION is true: the path of the one "
            "VAPID key (PEM, mode 0600) that every web process and worker shares. Make it once with a "
            "first start without UNKNOT_PRODUCTION (instance/vapid_private.pem) and copy it to each machine."
        )
    if not os.path.isfile(path):
        raise RuntimeError(
            f"UNKNOT_VAPID_PRIVATE_KEY names {path}, which does not exist; in production the key is never "
            "made on the spot (each machine would make its own): copy the shared key there."
        )
    problem = subject_problem(s.vapid_subject)
    if problem:
        raise RuntimeError(f"UNKNOT_VAPID_SUBJECT {problem} (required when UNKNOT_PRODUCTION is true).")
