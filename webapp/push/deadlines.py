"""Total deadlines of many requests in flight, kept by one timer.

A timer per request (``asyncio.timeout``, ``loop.call_at``) costs its
scheduling and cancelling on every push. Here each request in flight is
noted with its deadline; one timer, every ``timeout`` / TICKS seconds (at
most 0.1 s) while any is in flight, hands those past theirs to
``expire``. A deadline is so kept to within that tick.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Hashable

TICKS = 10

log = logging.getLogger(__name__)


class Deadlines:
    """Things started one after another, each with ``timeout`` seconds, on one event loop."""

    def __init__(self, timeout: float, expire: Callable[[Hashable], None]):
        self.timeout = timeout
        self.expire = expire
        # Each thing in flight by its deadline, in the order they started: all
        # have one timeout, so that is the order they expire in.
        self._due: dict[Hashable, float] = {}
        self._checking: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._due)

    def add(self, key: Hashable, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due[key] = loop.time() + self.timeout
        if self._checking is None:
            self._checking = loop.call_later(min(0.1, self.timeout / TICKS), self._check, loop)

    def discard(self, key: Hashable) -> bool:
        """Forget ``key`` (it ended in time); False if it was not there (it expired)."""
        return self._due.pop(key, None) is not None

    def overdue(self, key: Hashable) -> bool:
        """``key`` is past its deadline, though the timer has not said so yet."""
        deadline = self._due.get(key)
        return deadline is not None and deadline <= self._loop.time()

    def _check(self, loop) -> None:
        now, due, expired = loop.time(), self._due, []
        for key, deadline in due.items():
            if deadline > now:
                break
            expired.append(key)
        for key in expired:
            if due.pop(key, None) is not None:
                try:
                    self.expire(key)
                except Exception:  # a bug in one must not stop every other deadline
                    log.exception("a request past its deadline could not be ended")
        self._checking = loop.call_later(min(0.1, self.timeout / TICKS), self._check, loop) if due else None

    def close(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            self._checking = None
