"""Configuration defaults; every key can be overridden by an ``UNKNOT_<KEY>``
environment variable (``from_prefixed_env``) or ``instance/config.py``."""

# The browsers' push services, by the hosts their endpoints really use:
# Chrome (FCM), Firefox (Mozilla autopush), Safari (Apple) and Edge (WNS, whose
# endpoints are per-region hosts under notify.windows.com).
DEFAULT_PUSH_ORIGINS = ",".join([
    "https://fcm.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://web.push.apple.com",
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
    # Reminder dispatch (webapp/dispatch.py).
    DISPATCH_LEASE_SECONDS = 120.0  # a claim older than this is taken over
    DISPATCH_PASS_SECONDS = 45.0  # no send starts later than this into a pass
    DISPATCH_BATCH = 500  # rows per claim
    # Pushes in flight at once per process (webapp/fanout.py): at 50 ms from
    # the push service, what a sender sends per second is this / 0.05 s.
    SEND_CONCURRENCY = 1024
    # Encryption processes of one sender; None: every core for `reminders
    # worker` and `reminders dispatch`, 0 for the scheduler inside a web
    # process (a web server is not forked).
    SEND_PROCESSES = None
    PUSH_CONNECT_TIMEOUT = 3.05  # name lookup, and each address's TCP + TLS
    PUSH_TIMEOUT = 10.0  # a whole request, lookup to last byte of the answer
    PUSH_CONNECTIONS_PER_ORIGIN = 512
    # CA bundle the push services' certificates are checked against (None: certifi's).
    PUSH_CA_BUNDLE = None
    SQLITE_BUSY_TIMEOUT = 15.0
    # /healthz answers 503 past this heartbeat age (None: 120 s, or 10 ticks if longer).
    HEALTH_MAX_HEARTBEAT_AGE = None
    MAX_CONTENT_LENGTH = 16 * 1024
    # None: made once in the instance folder; required from the environment
    # when PRODUCTION is true (UNKNOT_PRODUCTION=true, UNKNOT_SECRET_KEY=...).
    SECRET_KEY = None
    PRODUCTION = False
    # How many reverse proxies (e.g. nginx) stand in front: their
    # X-Forwarded-For/-Proto then give the client's address (rate limits) and https (HSTS).
    TRUSTED_PROXIES = 0
    # Rate limits (webapp/limits.py), read by Flask-Limiter. A Redis URL
    # (UNKNOT_RATELIMIT_STORAGE_URI=redis://host:6379/0) shares the counts
    # between processes; when it cannot be reached, each process counts in its
    # own memory meanwhile and logs a warning (fail open, never a 500).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}  # Redis; memory ignores them
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    SEND_FILE_MAX_AGE_DEFAULT = 0
