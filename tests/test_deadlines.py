"""webapp.push.deadlines: one timer keeps every request's total deadline."""
import asyncio

import pytest

from webapp.push.deadlines import Deadlines
from webapp.push.failures import Timeout


def test_each_request_ends_by_its_own_deadline_and_the_timer_stops_after_the_last():
    async def main():
        deadlines = Deadlines(0.3)
        loop = asyncio.get_running_loop()

        async def waits(seconds):
            started = loop.time()
            try:
                await deadlines.bound(asyncio.sleep(seconds, "answer"))
                return "answer", loop.time() - started
            except Timeout as exc:
                return str(exc), loop.time() - started

        first = asyncio.ensure_future(waits(5))
        await asyncio.sleep(0.15)
        quick = asyncio.ensure_future(waits(0.05))
        second = asyncio.ensure_future(waits(5))
        results = await asyncio.gather(first, quick, second)
        assert deadlines._checking is None and not deadlines._due  # nothing in flight: no timer
        return results

    (first, took1), (quick, _), (second, took2) = asyncio.run(main())
    assert quick == "answer"
    assert "within 0.3 s" in first and "within 0.3 s" in second
    assert 0.3 <= took1 < 0.3 + 0.2 and 0.3 <= took2 < 0.3 + 0.2  # within a tick (0.03 s), and slack


def test_a_cancel_from_elsewhere_stays_a_cancel():
    async def main():
        deadlines = Deadlines(5)
        task = asyncio.ensure_future(deadlines.bound(asyncio.sleep(10)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not deadlines._due and not deadlines._expired

    asyncio.run(main())


def test_a_request_cancelled_from_elsewhere_as_its_deadline_passes_stays_cancelled():
    """Both at once: the caller's cancel wins (asyncio.timeout's rule), not a Timeout."""
    async def main():
        deadlines = Deadlines(0.05)
        task = asyncio.ensure_future(deadlines.bound(asyncio.sleep(10)))
        await asyncio.sleep(0)
        deadlines._due[task] = 0.0  # already past
        deadlines._check(asyncio.get_running_loop())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadlines.close()

    asyncio.run(main())
