"""Rate limits (Flask-Limiter): per address on every write, and per token
on what a device can repeat. ``UNKNOT_RATELIMIT_STORAGE_URI`` (e.g. a Redis
URL) shares the counts between web processes; the default counts in memory."""
import hashlib

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def token_key():
    header = request.headers.get("Authorization", "")
    return "token:" + hashlib.sha256(header.encode()).hexdigest()


limiter = Limiter(get_remote_address, storage_uri="memory://")

per_address = limiter.shared_limit("60/minute;600/hour", scope="address", key_func=get_remote_address)
subscribe_limit = limiter.limit("20/minute;200/day", key_func=get_remote_address)
test_push_limit = limiter.limit("3/minute;30/day", key_func=token_key)
action_limit = limiter.limit("30/minute;300/day", key_func=token_key)


def init_app(app):
    # The limiter reads these on every init_app; set them so one app's
    # choice never leaks into the next app made in the same process.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
