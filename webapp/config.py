"""Every setting: its type, default and meaning, parsed and checked once when
the app starts (a bad value stops it with a message naming the variable).

Each can be set as ``UNKNOT_<NAME>`` in the environment (read by
``from_prefixed_env``), in ``instance/config.py``, or in a test config. The
app keeps the parsed result as ``app.extensions["unknot_settings"]`` (see
``settings(app)``); nothing else reads raw config.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace

# The browsers' push services, by the hosts their endpoints really use:
# Chrome (FCM), Firefox (Mozilla autopush), Safari (Apple) and Edge (WNS, whose
# endpoints are per-region hosts under notify.windows.com).
DEFAULT_PUSH_ORIGINS = ",".join([
    "https://fcm.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://web.push.apple.com",
    "https://*.notify.windows.com",
])
DEFAULT_VAPID_SUBJECT = "mailto:hello@unknot.app"
EXTENSION = "unknot_settings"

# Read by Flask and Flask-Limiter themselves, under these names.
FLASK_DEFAULTS = {
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "SEND_FILE_MAX_AGE_DEFAULT": 0,
    # Rate limits (webapp/web/limits.py). A Redis URL
    # (UNKNOT_RATELIMIT_STORAGE_URI=redis://host:6379/0) shares the counts
    # between processes; when it cannot be reached, each process counts in its
    # own memory meanwhile and logs a warning (fail open, never a 500).
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,
}


class SettingError(RuntimeError):
    """A setting has a value the app cannot run with."""


# -- parsers: each takes the raw value and returns it typed, or raises ValueError -----

def _text(value):
    if value is None or value == "":
        raise ValueError("is not set")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty text")
    return value


def _flag(value):
    if isinstance(value, bool):
        return value
    words = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}
    if isinstance(value, (str, int)) and str(value).strip().lower() in words:
        return words[str(value).strip().lower()]
    raise ValueError("must be on or off (true or false)")


def _number(value, *, whole, low):
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = (int(value) if whole else float(value)) if isinstance(value, (int, float, str)) else None
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or (whole and isinstance(value, float) and value != int(value)):
        raise ValueError("must be a whole number" if whole else "must be a number")
    if number < low:
        raise ValueError(f"must be at least {low}")
    return number


def _seconds(value):
    seconds = _number(value, whole=False, low=0.0)
    if seconds <= 0:
        raise ValueError("must be a number of seconds above 0")
    return seconds


def _optional(parse):
    return lambda value: None if value is None or value == "" else parse(value)


def _count(low):
    return lambda value: _number(value, whole=True, low=low)


def _setting(default, parse, meaning):
    return field(default=default, metadata={"parse": parse, "meaning": meaning})


@dataclass(frozen=True)
class Settings:
    database_url: str | None = _setting(None, _optional(_text), "SQLAlchemy URL (default: SQLite file in the instance folder)")
    vapid_private_key: str | None = _setting(None, _optional(_text), "path of the VAPID private key, PEM (default: instance folder, made on first start)")
    vapid_subject: str = _setting(DEFAULT_VAPID_SUBJECT, _text, "VAPID `sub` claim: a mailto: address or https: URL")
    push_allowed_origins: str = _setting(DEFAULT_PUSH_ORIGINS, _text, "comma-separated push-service origins we may call; `*.` wildcards")
    scheduler: bool = _setting(True, _flag, "run the reminder tick inside this process (on/off)")
    tick_seconds: float = _setting(2.0, _seconds, "how often the tick looks for due reminders")
    dispatch_lease_seconds: float = _setting(120.0, _seconds, "a claim older than this is taken over by another worker")
    dispatch_pass_seconds: float = _setting(45.0, _seconds, "no send starts later than this into a pass")
    dispatch_batch: int = _setting(500, _count(1), "rows per claim")
    retry_min_seconds: float = _setting(10.0, _seconds, "a failed send is tried again no sooner (never within the same pass)")
    retry_first_seconds: float = _setting(30.0, _seconds, "first wait after a failed send with no Retry-After; doubles each time")
    retry_max_seconds: float = _setting(3600.0, _seconds, "longest wait between tries of one reminder")
    send_concurrency: int = _setting(1024, _count(1), "pushes in flight at once per process (at 50 ms from the service: this / 0.05 s a second)")
    send_processes: int | None = _setting(None, _optional(_count(0)), "encryption processes of a sender (default: every core for `reminders worker`/`dispatch`, 0 inside a web process)")
    push_connect_timeout: float = _setting(3.05, _seconds, "name lookup, and each address's TCP + TLS handshake")
    push_timeout: float = _setting(10.0, _seconds, "a whole push request, lookup to the last byte of the answer")
    push_connections_per_origin: int = _setting(512, _count(1), "open connections per push-service origin")
    push_ca_bundle: str | None = _setting(None, _optional(_text), "CA bundle push services' certificates are checked against (default: certifi's)")
    sqlite_busy_timeout: float = _setting(15.0, _seconds, "how long a SQLite writer waits for a lock")
    health_max_heartbeat_age: float | None = _setting(None, _optional(_seconds), "/healthz fails past this tick age (default: 120 s, or 10 ticks if longer)")
    forget_after_days: int = _setting(60, _count(1), "a subscription not heard from for this long is deleted")
    keep_logs_days: int = _setting(30, _count(1), "delivery and water logs older than this are deleted")
    secret_key: str | None = _setting(None, _optional(_text), "session signing key (default: made once in the instance folder; required in production)")
    production: bool = _setting(False, _flag, "refuse to start without a shared VAPID key, a real VAPID subject and a secret key")
    trusted_proxies: int = _setting(0, _count(0), "reverse proxies in front whose X-Forwarded-For/-Proto are believed")
    ratelimit_storage_uri: str = _setting(FLASK_DEFAULTS["RATELIMIT_STORAGE_URI"], _text, "rate-limit counts: memory:// or a Redis URL shared by processes")

    @property
    def max_heartbeat_age(self) -> float:
        if self.health_max_heartbeat_age is not None:
            return self.health_max_heartbeat_age
        return max(120.0, 10 * self.tick_seconds)

    @classmethod
    def from_config(cls, config) -> Settings:
        """Parse every setting from a Flask config; SettingError names the first bad one."""
        values = {}
        for f in fields(cls):
            key = f.name.upper()
            raw = config.get(key, f.default)
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                raise SettingError(f"UNKNOT_{key} {exc}; it is {raw!r}. Meaning: {f.metadata['meaning']}.") from None
        if values["push_ca_bundle"] and not os.path.isfile(values["push_ca_bundle"]):
            raise SettingError(f"UNKNOT_PUSH_CA_BUNDLE names {values['push_ca_bundle']}, which is not a file.")
        return cls(**values)

    def in_instance(self, instance_path: str) -> Settings:
        """These settings with the database and VAPID key defaulting to files in the instance folder."""
        return replace(
            self,
            database_url=self.database_url or "sqlite:///" + os.path.join(instance_path, "unknot.sqlite"),
            vapid_private_key=self.vapid_private_key or os.path.join(instance_path, "vapid_private.pem"),
        )


def defaults() -> dict:
    """Every setting's default under its config key, and Flask's own."""
    return {**FLASK_DEFAULTS, **{f.name.upper(): f.default for f in fields(Settings)}}


def settings(app) -> Settings:
    return app.extensions[EXTENSION]
