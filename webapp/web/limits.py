"""Rate limits (Flask-Limiter): per address on every API call that touches a
subscription, and per device (the authenticated subscription's id, never the
header's text) on what a device can repeat.

Each app has its own limiter, made in ``init_app`` and kept in
``app.extensions``; its storage comes from the config as Flask-Limiter reads
it (``RATELIMIT_STORAGE_URI``, i.e. ``UNKNOT_RATELIMIT_STORAGE_URI``: a Redis
URL shares the counts between processes). When that storage cannot be
reached the limiter logs a warning and counts in this process's memory until
it is back (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``): the API stays up,
with per-process limits meanwhile.
"""
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

EXTENSION = "unknot_limits"


def device_key():
    return "device:" + g.subscription.id


# name: (limits, key, shared scope or None for one bucket per endpoint)
RULES = {
    "address": ("60/minute;600/hour", get_remote_address, "address"),
    "subscribe": ("20/minute;200/day", get_remote_address, None),
    "test_push": ("3/minute;30/day", device_key, None),
    "action": ("30/minute;300/day", device_key, None),
}


def limited(*names):
    """Check the named limits when the view runs. Put per-device limits
    under ``with_subscription``: their key is the authenticated subscription."""

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            checks = current_app.extensions[EXTENSION].checks
            for name in names:
                checks[name]()
            return view(*args, **kwargs)

        return checked

    return decorate


def _check(limiter, name):
    """A function that does nothing itself: calling it makes Flask-Limiter
    check (and count) the limits decorated onto it, named after the rule."""
    limits, key, scope = RULES[name]

    def check():
        return None

    check.__qualname__ = check.__name__ = f"limit_{name}"
    if scope:
        return limiter.shared_limit(limits, scope=scope, key_func=key)(check)
    return limiter.limit(limits, key_func=key)(check)


@dataclass(frozen=True)
class Limits:
    limiter: Limiter  # held here: the checks only keep a weak reference to it
    checks: dict


def init_app(app):
    limiter = Limiter(get_remote_address)
    limiter.init_app(app)
    app.extensions[EXTENSION] = Limits(limiter, {name: _check(limiter, name) for name in RULES})
