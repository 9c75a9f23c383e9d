"""Total deadlines for many requests in flight, kept by one timer.

An ``asyncio.timeout`` per request schedules and cancels a timer of its own
for each (~6 µs a request, ``python -m bench.sender`` (2)). Here every
request's task is noted with its deadline; one timer, every ``timeout`` /
TICKS seconds (at most 0.1 s) while any is in flight, cancels the tasks
past theirs, and ``Deadlines.bound`` turns that cancel into ``Timeout``.
A deadline is so kept to within that tick.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from webapp.push.failures import Timeout

TICKS = 10


class Deadlines:
    """Requests with ``timeout`` seconds each, on one event loop."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        # The task of each request in flight by its deadline, in the order
        # they started: all have one timeout, so that is the order they expire.
        self._due: dict[asyncio.Task, float] = {}
        self._expired: set[asyncio.Task] = set()
        self._checking: asyncio.TimerHandle | None = None

    async def bound(self, work: Awaitable):
        """``await work`` from the current task (one at a time per task),
        or Timeout once ``timeout`` seconds have passed."""
        task = asyncio.current_task()
        loop = task.get_loop()
        self._due[task] = loop.time() + self.timeout
        if self._checking is None:
            self._checking = loop.call_later(min(0.1, self.timeout / TICKS), self._check, loop)
        try:
            return await work
        except asyncio.CancelledError:
            if task in self._expired and task.uncancel() == 0:  # our cancel, and nobody else's
                raise Timeout(f"timeout: no complete answer within {self.timeout:g} s") from None
            raise
        finally:
            self._expired.discard(task)
            self._due.pop(task, None)

    def _check(self, loop) -> None:
        now, due = loop.time(), self._due
        for task, deadline in due.items():
            if deadline > now:
                break
            self._expired.add(task)
        for task in self._expired:
            if due.pop(task, None) is not None:
                task.cancel()
        self._checking = loop.call_later(min(0.1, self.timeout / TICKS), self._check, loop) if due else None

    def close(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            self._checking = None
