"""The app's push channel: VAPID key and signer, and the endpoints we may call."""
from dataclasses import dataclass

from flask import current_app

from .endpoints import AllowList
from .push import VapidSigner, load_or_create_vapid_key, public_key_b64


@dataclass
class PushChannel:
    public_key: str
    signer: VapidSigner
    allowed: AllowList


def init_app(app):
    key = load_or_create_vapid_key(app.config["VAPID_PRIVATE_KEY"])
    allowed = AllowList.parse(app.config["PUSH_ALLOWED_ORIGINS"])
    app.extensions["unknot_push"] = PushChannel(
        public_key=public_key_b64(key),
        signer=VapidSigner(key, app.config["VAPID_SUBJECT"]),
        allowed=allowed,
    )


def channel(app=None) -> PushChannel:
    return (app or current_app).extensions["unknot_push"]
