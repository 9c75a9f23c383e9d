"""Faults around a dispatch pass, on SQLite and on PostgreSQL: a push service
that hangs, fails or resets; a pass that runs out of time; a locked
database; a long outage; a process killed with SIGKILL mid-pass."""
import signal
import sqlite3
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.procs import Workers, wait_until
from tests.seed import add_due, awake_plan
from webapp.jobs import dispatch
from webapp.reminders import schedule
from webapp.store.db import db
from webapp.store.models import Delivery, DueReminder
from webapp.push.channel import channel

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def fast_app(make_app, push_service):
    """Short push timeouts, so a hanging service costs a test little time."""
    return make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, PUSH_CONNECT_TIMEOUT=0.5,
                    PUSH_TIMEOUT=0.5, SEND_CONCURRENCY=8)


def seed(app, service, n, due_at=T0 - timedelta(seconds=1), **kwargs):
    key = channel(app).public_key
    subs = [service.make_subscription(application_server_key=key) for _ in range(n)]
    with app.app_context(), db.begin() as session:
        return add_due(session, subs, due_at, **kwargs)


def run(app, **kwargs):
    with app.app_context():
        return dispatch.run_pass(app, **kwargs)


def paths(service):
    return Counter(m.path for m in service.messages)


@pytest.mark.parametrize("mode", [500, 503, 429, "reset", "hang"])
def test_a_failing_push_service_costs_a_bounded_pass_and_nothing_is_lost(fast_app, push_service, clock,
                                                                         mode):
    seed(fast_app, push_service, 5)
    push_service.respond(mode, seconds=3) if mode == "hang" else push_service.respond(mode)
    started = time.monotonic()
    counts = run(fast_app)
    assert time.monotonic() - started < 2.5  # 5 sends on 8 threads, 0.5 s timeouts
    assert counts == {"retry": 5}
    assert push_service.messages == [] or mode == "hang"
    push_service.respond(None)
    if mode == "hang":
        push_service.clear()
    clock.advance(timedelta(seconds=5))
    assert run(fast_app) == {}  # not before the backoff
    clock.advance(timedelta(seconds=60))
    assert run(fast_app) == {"ok": 5}
    assert set(paths(push_service).values()) == {1} and len(push_service.messages) == 5
    with fast_app.app_context(), db.begin() as session:
        assert session.scalar(select(func.count()).select_from(DueReminder)
                              .where(DueReminder.occurrence == 1)) == 5


def test_a_pass_stops_starting_sends_at_its_deadline_and_gives_the_rest_back(make_app, push_service, clock):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, PUSH_TIMEOUT=0.4, SEND_CONCURRENCY=2,
                   DISPATCH_PASS_SECONDS=1)
    seed(app, push_service, 20)
    push_service.respond("hang", seconds=3)
    started = time.monotonic()
    counts = run(app)
    took = time.monotonic() - started
    assert took < 1 + 0.4 + 1.0, took  # deadline + one read timeout + slack
    assert counts["retry"] >= 2 and counts["deferred"] >= 10
    assert counts["retry"] + counts["deferred"] == 20
    with app.app_context(), db.begin() as session:
        given_back = session.scalar(select(func.count()).select_from(DueReminder).where(
            DueReminder.due_at == T0 - timedelta(seconds=1), DueReminder.claim.is_(None),
            DueReminder.lease_until.is_(None)))
    assert given_back == counts["deferred"]
    push_service.respond(None)
    push_service.clear()
    assert run(app) == {"ok": counts["deferred"]}  # at once: they are still due
    clock.advance(timedelta(minutes=2))
    assert run(app) == {"ok": counts["retry"]}
    assert set(paths(push_service).values()) == {1} and len(push_service.messages) == 20


@pytest.mark.parametrize("storage", ["sqlite"], indirect=True)
def test_a_locked_sqlite_database_is_waited_for_and_retried(make_app, push_service, storage):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, SQLITE_BUSY_TIMEOUT=0.1)
    seed(app, push_service, 3)
    path = storage.url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # hold the write lock for longer than the busy timeout
    release = threading.Timer(0.8, lambda: blocker.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        counts = run(app)
    finally:
        release.join()
        blocker.close()
    assert counts == {"ok": 3}
    assert time.monotonic() - started >= 0.7
    assert len(push_service.wait_for(3)) == 3


@pytest.mark.parametrize("storage", ["sqlite"], indirect=True)
def test_a_sqlite_database_locked_while_a_batch_is_written_is_waited_for_and_retried(make_app, push_service,
                                                                                     storage, monkeypatch):
    """The lock comes after the claim, as the batch's results are written:
    its rows are written once the lock goes, none lost, none sent twice."""
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, SQLITE_BUSY_TIMEOUT=0.1)
    ids = seed(app, push_service, 3)
    path = storage.url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    release = threading.Timer(0.8, lambda: blocker.execute("COMMIT"))
    real_apply, locked = dispatch.apply, []

    def apply(session, **kwargs):
        if not locked:  # hold the write lock from the first write on, for longer than the busy timeout
            locked.append(blocker.execute("BEGIN IMMEDIATE"))
            release.start()
        return real_apply(session, **kwargs)

    monkeypatch.setattr(dispatch, "apply", apply)
    try:
        started = time.monotonic()
        counts = run(app)
    finally:
        if locked:
            release.join()
        blocker.close()
    assert counts == {"ok": 3} and locked
    assert time.monotonic() - started >= 0.7
    assert len(push_service.wait_for(3)) == 3
    with app.app_context(), db.begin() as session:
        assert sorted(session.scalars(select(Delivery.subscription_id))) == sorted(ids)
        assert {r.occurrence for r in session.scalars(select(DueReminder))} == {1}


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)
def test_rows_locked_by_another_transaction_are_skipped_then_sent(make_app, push_service):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    ids = seed(app, push_service, 4)
    with app.app_context():
        holder = db.sessions()
        try:
            holder.execute(select(DueReminder).where(DueReminder.subscription_id.in_(ids[:2]))
                           .with_for_update())
            assert run(app) == {"ok": 2}  # at once: no waiting for the lock
        finally:
            holder.rollback()
            holder.close()
    assert run(app) == {"ok": 2}
    assert len(set(paths(push_service))) == 4


def test_three_hours_down_sends_one_catch_up_per_kind_within_its_ttl(make_app, push_service, clock):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    plan = awake_plan(T0)
    plan["stretch"] = {"enabled": True, "at": ["12:30", "13:30", "14:30"]}
    plan["hydration"]["every_minutes"] = 30
    ids = seed(app, push_service, 3, plan=plan, due_at=T0, ttl=timedelta(minutes=30))
    with app.app_context(), db.begin() as session:
        session.add_all(DueReminder(subscription_id=i, kind="stretch", due_at=T0 + timedelta(minutes=30),
                                    occurrence=0, attempts=0,
                                    expires_at=schedule.deliver_by(plan, "stretch", T0 + timedelta(minutes=30)))
                        for i in ids)
    down = T0 + timedelta(hours=3, minutes=5)  # 12:00 to 15:05: six water and three stretch slots missed
    clock.set(down)
    counts = run(app)
    assert counts["ok"] == 6, counts  # one of each kind per subscription (the missed ones: skipped)
    kinds = Counter(m.payload["kind"] for m in push_service.wait_for(6))
    assert kinds == {"hydration": 3, "stretch": 3}
    with app.app_context(), db.begin() as session:
        sent = session.execute(select(Delivery.kind, Delivery.due_at)).all()
    for kind, due_at in sent:  # each the latest one, still within its TTL
        assert down - due_at <= timedelta(minutes=35), (kind, due_at)
    assert run(app) == {}


def test_an_outage_that_ends_in_quiet_hours_sends_nothing_until_they_end(make_app, push_service, clock):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    plan = awake_plan(T0)
    plan["timezone"] = "Europe/Berlin"
    plan["quiet"] = {"from": "22:00", "until": "07:00"}
    plan["hydration"].update({"from": "08:00", "until": "21:00", "every_minutes": 60})
    seed(app, push_service, 2, plan=plan, due_at=datetime(2026, 3, 2, 19, 0, tzinfo=UTC))  # 20:00 Berlin
    for hours in range(0, 12):  # back at 23:30 Berlin, then ticks through the night (bounded)
        clock.set(datetime(2026, 3, 2, 22, 30, tzinfo=UTC) + timedelta(hours=hours))
        run(app)
    with app.app_context(), db.begin() as session:
        sent = session.scalars(select(Delivery.sent_at).where(Delivery.outcome == "ok")).all()
    assert sent, "the morning reminder goes out"
    for moment in sent:
        assert 7 <= moment.astimezone(ZoneInfo("Europe/Berlin")).hour < 22
    assert Counter(m.path for m in push_service.messages).most_common(1)[0][1] <= 3


def test_a_process_killed_mid_pass_loses_nothing(make_app, push_service, clock, storage, tmp_path):
    """A real worker process dies (SIGKILL) with a batch claimed and one send
    in flight; once its lease is over, the next pass sends everything."""
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    now = datetime.now(UTC)
    clock.set(now)
    subs_ids = seed(app, push_service, 6, due_at=now - timedelta(seconds=1))
    workers = Workers(tmp_path, storage.url, app.config["VAPID_PRIVATE_KEY"], push_service.origin)
    try:
        push_service.respond("hang", seconds=3)
        doomed = workers.start(SEND_CONCURRENCY=1, PUSH_TIMEOUT=30, DISPATCH_BATCH=100)
        try:
            wait_until(lambda: push_service.hits >= 1, 30, "the worker's first send")
        except AssertionError:
            print(workers.logs())
            raise
        time.sleep(0.2)
        in_flight = list(push_service.arrived)
        workers.kill(doomed, signal.SIGKILL)
    finally:
        workers.stop()
    push_service.respond(None)
    assert len(in_flight) == 1
    clock.set(now + timedelta(seconds=2))  # within the lease (3 s): the rows stay with the dead worker
    assert run(app) == {}
    clock.set(now + timedelta(seconds=45))  # the lease (3 s from its claim) is over
    assert run(app) == {"ok": 6}
    push_service.wait_for(7, timeout=10)  # the in-flight send also ends, after its hang
    got = paths(push_service)
    assert len(got) == 6 and len(subs_ids) == 6
    assert {p: n for p, n in got.items() if n != 1} == {in_flight[0]: 2}
    assert {m.headers["topic"] for m in push_service.messages} == {"unknot-hydration"}
