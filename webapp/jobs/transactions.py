"""Transactions that survive a busy database: a lock or a broken deadlock
is tried again with backoff instead of failing the pass."""
import logging
import random
import time

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

# A transaction that meets a busy/locked database is tried this many times.
ATTEMPTS = 6


def _transient(exc) -> bool:
    """A lock or conflict that is worth another try (SQLite busy, PG deadlock...)."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in ("40001", "40P01", "55P03"):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


def in_transaction(database, fn, attempts=ATTEMPTS):
    """Run ``fn(session)`` in a transaction, again (with backoff) if the
    database is briefly locked or a deadlock was broken."""
    for attempt in range(attempts):
        try:
            with database.begin() as session:
                return fn(session)
        except DBAPIError as exc:
            if attempt == attempts - 1 or not _transient(exc):
                raise
            delay = min(2.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.5)
            log.info("database busy (%s); again in %.2f s", type(exc.orig).__name__, delay)
            time.sleep(delay)
