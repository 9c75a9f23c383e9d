"""webapp.push.deadlines: one timer keeps the deadline of everything in flight."""
import asyncio
import threading

from webapp.push.deadlines import Deadlines


def run(main):
    """``asyncio.run(main())`` on a thread of its own: the browser tests leave
    an event loop running on this one."""
    done = {}

    def on_thread():
        try:
            done["result"] = asyncio.run(main())
        except BaseException as exc:  # handed to the test's thread
            done["error"] = exc

    thread = threading.Thread(target=on_thread)
    thread.start()
    thread.join(30)
    if "error" in done:
        raise done["error"]
    return done["result"]


async def until(condition, seconds=2.0):
    """Wait, at most ``seconds``, for ``condition()``."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


def test_each_thing_expires_by_its_own_deadline_and_the_timer_stops_after_the_last():
    async def main():
        loop = asyncio.get_running_loop()
        started, expired = loop.time(), []
        deadlines = Deadlines(0.3, lambda key: expired.append((key, loop.time() - started)))
        deadlines.add("first", loop)
        await asyncio.sleep(0.15)
        deadlines.add("quick", loop)
        deadlines.add("second", loop)
        await asyncio.sleep(0.05)
        assert deadlines.discard("quick")  # it ended in time
        await until(lambda: len(expired) == 2)
        await asyncio.sleep(0.1)
        assert deadlines._checking is None and len(deadlines) == 0  # nothing in flight: no timer
        assert not deadlines.discard("first")  # it had expired
        return expired

    (first, took1), (second, took2) = run(main)
    assert (first, second) == ("first", "second")
    assert 0.3 <= took1 < 0.3 + 0.5 and 0.45 <= took2 < 0.45 + 0.5  # within a tick (0.03 s), and slack for a busy machine


def test_what_expires_may_start_more_and_they_keep_their_own_deadlines():
    async def main():
        loop = asyncio.get_running_loop()
        expired = []

        def expire(key):
            expired.append(key)
            if key < 3:
                deadlines.add(key + 1, loop)  # as a request that fails hands its place on

        deadlines = Deadlines(0.05, expire)
        deadlines.add(0, loop)
        await until(lambda: len(expired) == 4)
        deadlines.close()
        return expired

    assert run(main) == [0, 1, 2, 3]


def test_one_failing_expiry_does_not_stop_the_others_or_the_timer(caplog):
    async def main():
        loop = asyncio.get_running_loop()
        expired = []

        def expire(key):
            if key == "bad":
                raise RuntimeError("a bug")
            expired.append(key)

        deadlines = Deadlines(0.05, expire)
        for key in ("bad", "first", "second"):
            deadlines.add(key, loop)
        await asyncio.sleep(0.03)
        deadlines.add("later", loop)
        await until(lambda: len(expired) == 3)
        deadlines.close()
        return expired

    assert run(main) == ["first", "second", "later"]
    assert "could not be ended" in caplog.text


def test_overdue_says_whether_a_deadline_has_passed_before_the_timer_does():
    async def main():
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(0.05, lambda key: None)
        deadlines.add("a", loop)
        before = deadlines.overdue("a")
        deadlines._due["a"] = loop.time() - 1  # as if its time had come between two ticks
        after = deadlines.overdue("a")
        deadlines.close()
        return before, after, deadlines.overdue("unknown")

    assert run(main) == (False, True, False)
