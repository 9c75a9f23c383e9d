"""The current time, injectable: tests set ``app.config["CLOCK"]`` to drive time."""
from datetime import datetime, timezone


def system_now():
    return datetime.now(timezone.utc)


def now(app):
    return app.config.get("CLOCK", system_now)()
