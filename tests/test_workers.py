"""Several ``flask --app webapp reminders worker`` processes against one
PostgreSQL (a fresh schema per test) and the loopback push service: every
due reminder goes out exactly once; a worker killed with SIGKILL in the
middle of a batch loses nothing, and only what it had in flight goes out
twice (with the same Topic)."""
import signal
import socket
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.procs import Workers, wait_until
from tests.seed import add_due
from webapp.store.db import db
from webapp.store.models import Delivery, DueReminder, Heartbeat
from webapp.push.channel import channel

UTC = timezone.utc


@pytest.fixture
def workers(tmp_path, storage, push_app, push_service):
    group = Workers(tmp_path, storage.url, push_app.config["VAPID_PRIVATE_KEY"], push_service.origin)
    yield group
    group.stop()


@pytest.fixture
def due_now(push_app, push_service):
    """n subscriptions, each with a hydration reminder due a second ago (real time)."""
    def make(n):
        key = channel(push_app).public_key
        subs = [push_service.make_subscription(application_server_key=key) for _ in range(n)]
        with push_app.app_context(), db.begin() as session:
            ids = add_due(session, subs, datetime.now(UTC) - timedelta(seconds=1))
        return subs, ids

    return make


def settled(app, n):
    """All n rows moved on to their next occurrence, none claimed."""
    with app.app_context(), db.begin() as session:
        done = session.scalar(select(func.count()).select_from(DueReminder)
                              .where(DueReminder.occurrence == 1, DueReminder.claim.is_(None)))
    return done == n


def deliveries(push_service):
    return Counter(m.path for m in push_service.messages)


def more_passes(app, workers, passes=3, timeout=30):
    """Wait (bounded) until every live worker has stamped its heartbeat
    ``passes`` more times: whatever must not go out has had its chances,
    however busy the machine."""
    live = {f"{socket.gethostname()}:{p.pid}" for p in workers.procs if p.poll() is None}
    seen = {ident: set() for ident in live}

    def enough():
        with app.app_context(), db.begin() as session:
            for ident, beat_at in session.execute(
                    select(Heartbeat.id, Heartbeat.beat_at).where(Heartbeat.id.in_(live))):
                seen[ident].add(beat_at)
        return all(len(beats) > passes for beats in seen.values())

    wait_until(enough, timeout, f"{passes} more passes of every worker")


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)
@pytest.mark.parametrize("count", [2, 3])
def test_every_due_reminder_is_delivered_exactly_once(count, push_app, push_service, workers, due_now):
    subs, ids = due_now(240)
    for _ in range(count):
        workers.start()
    try:
        push_service.wait_for(240, timeout=40)
        wait_until(lambda: settled(push_app, 240), 20, "every row rescheduled")
    except (TimeoutError, AssertionError):
        print(workers.logs())
        raise
    more_passes(push_app, workers)  # nothing else may go out
    got = deliveries(push_service)
    assert set(got) == {"/push/" + s["endpoint"].rsplit("/", 1)[1] for s in subs}
    assert set(got.values()) == {1}, [p for p, n in got.items() if n > 1]
    assert push_service.rejections == []
    with push_app.app_context(), db.begin() as session:
        log = session.execute(select(Delivery.subscription_id, Delivery.outcome)).all()
    # One successful delivery per subscription (a network hiccup may add a
    # logged retry, never a second delivery: checked on the service above).
    assert sorted(s for s, o in log if o == "ok") == sorted(ids)


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)
def test_a_worker_killed_mid_batch_is_taken_over_after_its_lease(push_app, push_service, workers, due_now):
    subs, _ = due_now(12)
    # The first worker's sends hang, one at a time, so the kill lands mid-batch.
    push_service.respond("hang", seconds=4)
    doomed = workers.start(SEND_CONCURRENCY=1, PUSH_TIMEOUT=30, DISPATCH_BATCH=100)
    wait_until(lambda: push_service.hits >= 1, 30, "the first worker's first send")
    time.sleep(0.2)
    in_flight = list(push_service.arrived)
    workers.kill(doomed, signal.SIGKILL)
    killed_at = time.time()
    push_service.respond(None)
    assert len(in_flight) == 1
    with push_app.app_context(), db.begin() as session:  # its claims are still there
        claimed = session.scalar(select(func.count()).select_from(DueReminder)
                                 .where(DueReminder.claim.is_not(None)))
    assert claimed == 12

    workers.start()
    workers.start()
    try:
        push_service.wait_for(13, timeout=30)  # 12, plus the in-flight one when its hang ends
        wait_until(lambda: settled(push_app, 12), 20, "every row rescheduled")
    except (TimeoutError, AssertionError):
        print(workers.logs())
        raise
    more_passes(push_app, workers)
    got = deliveries(push_service)
    assert set(got) == {"/push/" + s["endpoint"].rsplit("/", 1)[1] for s in subs}
    assert {p: n for p, n in got.items() if n != 1} == {in_flight[0]: 2}
    assert {m.headers["topic"] for m in push_service.messages} == {"unknot-hydration"}
    # Nobody touched the dead worker's rows before its lease (3 s) ran out.
    taken_over = [m.received_at for m in push_service.messages if m.path != in_flight[0]]
    assert min(taken_over) >= killed_at + 0.5
