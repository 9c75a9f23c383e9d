"""Configuration defaults; every key can be overridden by an ``UNKNOT_<KEY>``
environment variable (``from_prefixed_env``) or ``instance/config.py``."""

DEFAULT_PUSH_ORIGINS = ",".join([
    "https://fcm.googleapis.com",
    "https://*.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://*.push.services.mozilla.com",
    "https://web.push.apple.com",
    "https://*.push.apple.com",
    "https://*.notify.windows.com",
])


class Defaults:
    # None means "derive from the instance folder" (see create_app).
    DATABASE_URL = None
    VAPID_PRIVATE_KEY = None
    VAPID_SUBJECT = "mailto:hello@unknot.app"
    PUSH_ALLOWED_ORIGINS = DEFAULT_PUSH_ORIGINS
    SCHEDULER = "on"
    # How often the scheduler's tick looks for due reminders, in seconds.
    TICK_SECONDS = 2
    MAX_CONTENT_LENGTH = 16 * 1024
    # None: made once in the instance folder; required from the environment
    # when PRODUCTION is true (UNKNOT_PRODUCTION=true, UNKNOT_SECRET_KEY=...).
    SECRET_KEY = None
    PRODUCTION = False
    # How many reverse proxies (e.g. nginx) stand in front: their
    # X-Forwarded-For/-Proto then give the client's address (rate limits) and https (HSTS).
    TRUSTED_PROXIES = 0
    SEND_FILE_MAX_AGE_DEFAULT = 0
