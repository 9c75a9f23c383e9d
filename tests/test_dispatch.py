"""Claims, leases and claim tokens, on SQLite and on PostgreSQL; the heartbeat
and GET /healthz; the fan-out's own HTTP client."""
import os
import socket
import threading
import time
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal_column, select

from tests.conftest import reconfigure
from tests.seed import add_due
from webapp import ROOT
from webapp.config import Settings
from webapp.jobs import dispatch, scheduler, senders
from webapp.jobs.claim import claim as claim_rows
from webapp.jobs.results import apply
from webapp.jobs.retry import RetryPolicy
from webapp.jobs.transactions import in_transaction
from webapp.push.channel import channel
from webapp.push.sender import Fanout
from webapp.reminders import due
from webapp.reminders.kinds import registry
from webapp.store.db import database, db
from webapp.store.models import Delivery, DueReminder, Heartbeat, Subscription

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RETRY = RetryPolicy.from_settings(Settings())
LEASE = timedelta(seconds=60)


@pytest.fixture
def seeded(push_app, push_service):
    def seed(n, due_at=T0 - timedelta(seconds=1)):
        subs = [push_service.make_subscription(application_server_key=channel(push_app).public_key)
                for _ in range(n)]
        with push_app.app_context(), db.begin() as session:
            return add_due(session, subs, due_at)

    return seed


def claim(app, now, limit=100, token="a" * 32):
    with app.app_context():
        return in_transaction(database(app), lambda s: claim_rows(s, now, limit, lease=LEASE, token=token))


def rows(app):
    with app.app_context(), db.begin() as session:
        return {(r.subscription_id, r.kind): r for r in session.scalars(select(DueReminder))}


def test_a_claim_leases_rows_to_one_token(push_app, seeded):
    ids = seeded(5)
    jobs = claim(push_app, T0, token="a" * 32)
    assert sorted(j.sub["id"] for j in jobs) == sorted(ids)
    assert all(r.claim == "a" * 32 and r.lease_until == T0 + LEASE for r in rows(push_app).values())
    # Nobody else gets them while the lease holds.
    assert claim(push_app, T0 + LEASE - timedelta(seconds=1), token="b" * 32) == []


def test_a_batch_reads_the_water_log_from_the_earliest_day_its_rows_count_in(push_app, seeded):
    """Glass counts come from one day before the earliest moment a row's next
    reminder is looked for (a catch-up's own last moment), not the whole log."""
    from webapp.jobs.results import _glasses
    from webapp.store.models import WaterLog

    [sid] = seeded(1, due_at=T0 - timedelta(days=5))  # due and expired on 25 February: a catch-up
    with push_app.app_context(), db.begin() as session:
        session.add_all(WaterLog(subscription_id=sid, at=T0 - timedelta(days=ago), local_date=str((T0 - timedelta(
            days=ago)).date())) for ago in (0, 0, 3, 5, 6, 20))
    [job] = claim(push_app, T0)
    with push_app.app_context(), db.begin() as session:
        counts = _glasses(session, [job], registry(push_app), T0)
    # The catch-up counts in the day it expired: from the day before that on, not 20 days back.
    assert counts == {(sid, "2026-03-02"): 2, (sid, "2026-02-27"): 1, (sid, "2026-02-25"): 1,
                      (sid, "2026-02-24"): 1}


def test_a_claim_takes_at_most_limit_oldest_first(push_app, seeded):
    old = seeded(3, T0 - timedelta(minutes=5))
    seeded(4, T0 - timedelta(minutes=1))
    jobs = claim(push_app, T0, limit=3)
    assert sorted(j.sub["id"] for j in jobs) == sorted(old)
    assert len(claim(push_app, T0, limit=10, token="b" * 32)) == 4
    assert claim(push_app, T0, token="c" * 32) == []


def test_nothing_is_claimed_before_it_is_due(push_app, seeded):
    seeded(2, T0 + timedelta(seconds=1))
    assert claim(push_app, T0) == []


def test_an_expired_lease_is_taken_over_and_the_old_claim_cannot_write(push_app, seeded):
    [sid] = seeded(1)
    [first] = claim(push_app, T0, token="a" * 32)
    later = T0 + LEASE + timedelta(seconds=1)
    [second] = claim(push_app, later, token="b" * 32)
    assert second.row["occurrence"] == first.row["occurrence"]  # the same occurrence, re-sent
    # The slow first pass finishes now: its result must not touch the row.
    first.started, first.outcome = True, "ok"
    with push_app.app_context():
        in_transaction(database(push_app), lambda s: apply(s, [first], later, "a" * 32, kinds=registry(push_app), retry=RETRY))
    row = rows(push_app)[(sid, "hydration")]
    assert row.claim == "b" * 32 and row.due_at == T0 - timedelta(seconds=1) and row.occurrence == 0
    # The takeover's result is written.
    second.started, second.outcome = True, "ok"
    with push_app.app_context():
        in_transaction(database(push_app), lambda s: apply(s, [second], later, "b" * 32, kinds=registry(push_app), retry=RETRY))
    row = rows(push_app)[(sid, "hydration")]
    assert row.claim is None and row.lease_until is None
    assert row.occurrence == 1 and row.due_at > later


def test_a_plan_change_during_a_send_wins_over_the_send(push_app, seeded):
    [sid] = seeded(1)
    [job] = claim(push_app, T0)
    with push_app.app_context(), db.begin() as session:
        sub = session.get(Subscription, sid)
        due.snooze(session, sub, "hydration", 30, T0)
    job.started, job.outcome = True, "ok"
    with push_app.app_context():
        in_transaction(database(push_app), lambda s: apply(s, [job], T0, "a" * 32, kinds=registry(push_app), retry=RETRY))
    row = rows(push_app)[(sid, "hydration")]
    assert row.due_at == T0 + timedelta(minutes=30) and row.claim is None


def test_an_answer_with_control_characters_is_logged_without_them(push_app, seeded):
    """A push service's answer body ends up in the error we log: a NUL in it
    (which PostgreSQL's text refuses) must not fail the batch's write."""
    seeded(1)
    [job] = claim(push_app, T0)
    job.started, job.outcome, job.status, job.error = True, "drop", 400, "HTTP 400: bad\x00thing\x1b[31m"
    in_transaction(database(push_app), lambda s: apply(s, [job], T0, "a" * 32, kinds=registry(push_app), retry=RETRY))
    with push_app.app_context(), db.begin() as session:
        [error] = session.scalars(select(Delivery.error)).all()
    assert error == "HTTP 400: bad thing [31m"


def test_the_delivery_log_keeps_every_field_as_it_was_sent(push_app, seeded):
    """Each backend writes the log its own way (PostgreSQL with COPY): text
    that looks like COPY's own escapes (a backslash, "\\N" for NULL) and
    non-ASCII come back as they were, moments to the microsecond, in UTC."""
    seeded(1)
    [job] = claim(push_app, T0)
    error = 'HTTP 400: {"reason": "C:\\N\\t \\\\ é ✓"}'
    job.started, job.outcome, job.status, job.error, job.service = True, "drop", 400, error, "https://push.example"
    sent = (T0 + timedelta(seconds=2, microseconds=123457)).astimezone(timezone(timedelta(hours=5)))
    in_transaction(database(push_app), lambda s: apply(s, [job], sent, "a" * 32, kinds=registry(push_app), retry=RETRY))
    with push_app.app_context(), db.begin() as session:
        [logged] = session.scalars(select(Delivery)).all()
        got = {c: getattr(logged, c) for c in ("subscription_id", "kind", "service", "due_at", "occurrence", "sent_at",
                                                "status", "outcome", "latency_ms", "error")}
    assert got == {"subscription_id": job.sub["id"], "kind": "hydration", "service": "https://push.example",
                   "due_at": job.row["due_at"], "occurrence": 0, "sent_at": sent.astimezone(timezone.utc),
                   "status": 400, "outcome": "drop", "latency_ms": 3123, "error": error}


@pytest.mark.parametrize("storage", ["sqlite"], indirect=True)  # SQLite keeps moments as text
def test_a_batch_stores_its_moments_as_sqlalchemy_itself_would(push_app, seeded):
    """A batch's writes on SQLite bypass SQLAlchemy's executemany, and SQLite
    compares moments as text (a claim's due_at <= now): each moment written
    must be stored as SQLAlchemy's own UPDATE stores it, whole seconds and not."""
    seeded(2)
    jobs = claim(push_app, T0)
    for job, sent in zip(jobs, (T0 + timedelta(seconds=2), T0 + timedelta(seconds=2, microseconds=123457))):
        job.started, job.outcome, job.status = True, "ok", 201
        in_transaction(database(push_app), lambda s: apply(s, [job], sent, "a" * 32, kinds=registry(push_app),
                                                            retry=RETRY))
    checked = 0
    with push_app.app_context(), db.begin() as session:
        raw = session.connection().exec_driver_sql
        for table, columns in (("due_reminders", ("due_at", "expires_at")), ("deliveries", ("due_at", "sent_at"))):
            model = DueReminder if table == "due_reminders" else Delivery
            for rowid, *texts in raw(f"SELECT rowid, {', '.join(columns)} FROM {table}").all():
                for column, stored in zip(columns, texts):
                    moment = session.scalar(select(getattr(model, column)).where(literal_column("rowid") == rowid))
                    session.execute(model.__table__.update().where(literal_column("rowid") == rowid)
                                    .values({column: moment}))
                    again = raw(f"SELECT {column} FROM {table} WHERE rowid = ?", (rowid,)).scalar()
                    assert stored == again, (table, column)
                    checked += 1
    assert checked == 8


@pytest.mark.parametrize("storage", ["sqlite"], indirect=True)
def test_each_statement_a_batch_writes_is_compiled_once(push_app, seeded, monkeypatch):
    """A worker writes batches for days: what the SQLite writes compile is
    kept once per statement, not once per batch."""
    from webapp.jobs import bulk

    monkeypatch.setattr(bulk, "_COMPILED", {})
    seeded(3)
    for token in ("a" * 32, "b" * 32, "c" * 32):
        [job] = claim(push_app, T0, limit=1, token=token)
        job.started, job.outcome, job.status = True, "ok", 201
        in_transaction(database(push_app), lambda s: apply(s, [job], T0, token, kinds=registry(push_app), retry=RETRY))
    assert len(bulk._COMPILED) == 2  # the rows' next due times, the delivery log


def test_a_moment_given_twice_in_one_batch_keeps_its_own_instant():
    """A batch converts each moment once; the two 02:30s of the night Berlin's
    clocks go back are equal in their own zone yet an hour apart."""
    from sqlalchemy.dialects import sqlite

    from webapp.jobs import bulk
    from webapp.store.models import UTCDateTime

    first = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    second = first.replace(fold=1)
    dialect = sqlite.dialect()
    as_stored = bulk._Moments(UTCDateTime().dialect_impl(dialect).bind_processor(dialect)).text
    assert (as_stored(first), as_stored(second)) == ("2026-10-25 00:30:00.000000", "2026-10-25 01:30:00.000000")
    as_json = bulk._Moments(bulk._iso).text
    assert (as_json(first), as_json(second)) == ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00")


def test_a_naive_moment_is_refused_and_nothing_of_the_batch_is_written(push_app, seeded):
    """Moments are written as UTC: one without a zone is a bug, refused before
    anything of its batch is written, on either backend's way of writing."""
    from webapp.jobs import bulk

    seeded(1)
    [job] = claim(push_app, T0)
    naive = (T0 + timedelta(hours=2)).replace(tzinfo=None)
    update = {"k_sid": job.sub["id"], "k_kind": "hydration", "k_claim": "a" * 32, "v_due_at": naive,
              "v_attempts": 0, "v_expires_at": None, "v_occurrence": 1, "v_last_tip": None}
    log = {"subscription_id": job.sub["id"], "kind": "hydration", "service": "https://p.example", "due_at": T0,
           "occurrence": 0, "sent_at": naive, "status": 201, "outcome": "ok", "latency_ms": 5, "error": None}
    for write in (lambda s: bulk.update_results(s, [update]), lambda s: bulk.log_deliveries(s, [log])):
        with pytest.raises(ValueError, match="naive"):
            in_transaction(database(push_app), write)
    [row] = rows(push_app).values()
    assert (row.claim, row.occurrence, row.due_at) == ("a" * 32, 0, T0 - timedelta(seconds=1))
    with push_app.app_context(), db.begin() as session:
        assert session.scalars(select(Delivery)).all() == []


def test_a_driver_with_named_parameters_writes_a_batch_too(tmp_path):
    """Any SQLAlchemy URL may be configured; a driver whose parameters are
    named, not positional, takes each row by name."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from webapp.jobs import bulk
    from webapp.store.models import Base

    engine = create_engine(f"sqlite:///{tmp_path / 'named.sqlite'}", paramstyle="named")
    assert not engine.dialect.positional
    Base.metadata.create_all(engine)
    later = T0 + timedelta(hours=2, microseconds=5)
    with Session(engine) as session, session.begin():
        session.add(DueReminder(subscription_id="s", kind="hydration", due_at=T0, occurrence=0, attempts=0,
                                claim="t"))
        session.flush()
        bulk.update_results(session, [{"k_sid": "s", "k_kind": "hydration", "k_claim": "t", "v_due_at": later,
                                       "v_attempts": 0, "v_expires_at": None, "v_occurrence": 1, "v_last_tip": 2}])
        bulk.log_deliveries(session, [{"subscription_id": "s", "kind": "hydration", "service": "https://p.example",
                                       "due_at": T0, "occurrence": 0, "sent_at": later, "status": 201,
                                       "outcome": "ok", "latency_ms": 5, "error": None}])
    with Session(engine) as session:
        row = session.scalars(select(DueReminder)).one()
        logged = session.scalars(select(Delivery)).one()
        assert (row.due_at, row.occurrence, row.last_tip, row.claim) == (later, 1, 2, None)
        assert (logged.sent_at, logged.due_at, logged.outcome) == (later, T0, "ok")
    engine.dispose()


def test_a_dispatch_pass_never_configures_the_orm(tmp_path):
    """A `reminders dispatch` process runs one pass: nothing on its way uses
    the ORM, so the mappers are not configured in the middle of it (a cost
    paid once a process, while the sender processes encrypt). A new
    interpreter, as the command has: in this one the mappers are long set up."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import os, sys
        from datetime import datetime, timedelta, timezone
        from sqlalchemy import insert, inspect
        from tests.seed import awake_plan
        from webapp import create_app
        from webapp.jobs import dispatch
        from webapp.store.db import database
        from webapp.store.models import DueReminder, Subscription, WaterLog
        tmp = sys.argv[1]
        app = create_app({"TESTING": True, "SCHEDULER": "off", "DATABASE_URL": f"sqlite:///{tmp}/d.db",
                          "VAPID_PRIVATE_KEY": os.path.join(tmp, "v.pem"), "SEND_PROCESSES": 0,
                          "PUSH_ALLOWED_ORIGINS": "http://127.0.0.1:9"})
        app.extensions["unknot_role"] = "dispatch"
        now = datetime.now(timezone.utc)
        with app.app_context(), database(app).begin() as session:  # keys no sender can use: nothing goes out
            session.execute(insert(Subscription.__table__), [{
                "id": "s", "endpoint": "http://127.0.0.1:9/push/s", "p256dh": "x", "auth": "y", "token_hash": "h",
                "plan": awake_plan(now), "created_at": now}])
            session.execute(insert(DueReminder.__table__), [{
                "subscription_id": "s", "kind": "hydration", "due_at": now - timedelta(seconds=1), "occurrence": 0,
                "attempts": 0, "expires_at": now + timedelta(hours=1)}])
        with app.app_context():
            counts = dispatch.run_pass(app)
        print(dict(counts), inspect(WaterLog).configured)
    """)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "{'drop': 1} False"


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)  # the COPY is PostgreSQL's
def test_a_deadlock_in_the_delivery_log_copy_is_tried_again_like_any_statement(push_app, seeded, monkeypatch):
    """The log's COPY goes through psycopg itself, not SQLAlchemy: its
    errors must still reach in_transaction as SQLAlchemy's, or a broken
    deadlock would lose the batch's results instead of writing them again."""
    import psycopg

    seeded(1)
    [job] = claim(push_app, T0)
    job.started, job.outcome, job.status = True, "ok", 201
    real, failures = psycopg.Cursor.copy, []

    def copy(cursor, statement, *args, **kwargs):
        if not failures:
            failures.append(statement)
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return real(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", copy)
    in_transaction(database(push_app), lambda s: apply(s, [job], T0, "a" * 32, kinds=registry(push_app), retry=RETRY))
    with push_app.app_context(), db.begin() as session:
        assert session.scalars(select(Delivery.outcome)).all() == ["ok"]
    assert len(failures) == 1 and rows(push_app)[(job.sub["id"], "hydration")].occurrence == 1


def test_rows_not_sent_before_the_deadline_are_given_back_unchanged(push_app, seeded):
    ids = seeded(3)
    jobs = claim(push_app, T0)
    jobs[0].started, jobs[0].outcome = True, "ok"
    with push_app.app_context():
        in_transaction(database(push_app), lambda s: apply(s, jobs, T0, "a" * 32, kinds=registry(push_app), retry=RETRY))
    after = rows(push_app)
    untouched = [after[(j.sub["id"], "hydration")] for j in jobs[1:]]
    assert all(r.claim is None and r.lease_until is None and r.due_at == T0 - timedelta(seconds=1)
               and r.occurrence == 0 for r in untouched)
    assert len(ids) == 3 and after[(jobs[0].sub["id"], "hydration")].occurrence == 1
    assert len(claim(push_app, T0, token="b" * 32)) == 2


def test_a_sender_that_stops_answering_gives_the_rows_back_and_is_replaced(push_app, seeded, monkeypatch):
    ids = seeded(3)

    class Stuck:  # alive, but never answers (a sender process hung on a lock, say)
        closed = False

        def submit(self, messages, until=None):
            return Future()

        def sweep(self):
            pass

        def close(self):
            Stuck.closed = True

    push_app.extensions["unknot_sender"].current = (os.getpid(), Stuck())
    monkeypatch.setattr(dispatch, "SENDER_GRACE", 0.0)
    reconfigure(push_app, dispatch_pass_seconds=0.3, push_timeout=0.2)
    started = time.monotonic()
    assert dispatch.run_pass(push_app, now=T0) == {"deferred": 3}
    assert time.monotonic() - started < 10  # bounded by the pass, the request deadline and the grace
    assert Stuck.closed and push_app.extensions["unknot_sender"].current is None  # the next pass makes a new one
    after = rows(push_app)
    assert len(ids) == 3 and all(r.claim is None and r.occurrence == 0 for r in after.values())


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)  # SQLite has one writer anyway
def test_skip_locked_lets_a_second_claimer_pass_locked_rows(push_app, seeded):
    seeded(4)
    with push_app.app_context():
        holder = db.sessions()
        try:
            first = claim_rows(holder, T0, 2, lease=LEASE, token="a" * 32)  # not committed yet
            assert len(first) == 2
            other = claim(push_app, T0, limit=10, token="b" * 32)
            assert len(other) == 2
            assert {j.sub["id"] for j in first}.isdisjoint({j.sub["id"] for j in other})
            holder.commit()
        finally:
            holder.close()
    assert claim(push_app, T0, token="c" * 32) == []


def test_every_due_row_is_sent_once_and_logged_with_its_occurrence(push_app, seeded, push_service, clock):
    ids = seeded(40)
    with push_app.app_context():
        counts = dispatch.run_pass(push_app, batch=7)
    assert counts == {"ok": 40}
    assert sorted(m.subscription_id for m in push_service.wait_for(40)) == sorted(
        m.subscription_id for m in push_service.messages)
    assert len({m.path for m in push_service.messages}) == 40
    assert {m.headers["topic"] for m in push_service.messages} == {"unknot-hydration"}
    with push_app.app_context(), db.begin() as session:
        log = session.execute(select(Delivery.subscription_id, Delivery.occurrence)).all()
    assert sorted(log) == sorted((i, 0) for i in ids)


def test_the_tick_stamps_a_heartbeat_and_healthz_reports_it(push_app, push_service):
    client = push_app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"]["ok"] is True
    assert response.json["scheduler"]["age_seconds"] is None
    scheduler.tick(push_app)  # what a worker runs
    push_app.extensions.pop("unknot_heartbeat")  # a web process: it reads the table
    with push_app.app_context(), db.begin() as session:
        [beat] = session.scalars(select(Heartbeat)).all()
    assert beat.role == "embedded"
    response = client.get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok"
    assert response.json["scheduler"]["source"] == "workers"
    assert response.json["scheduler"]["workers"] == 1
    assert 0 <= response.json["scheduler"]["age_seconds"] < 60


def test_healthz_fails_on_a_stale_heartbeat_and_an_unreachable_database(push_app):
    client = push_app.test_client()
    push_app.extensions["unknot_heartbeat"] = datetime.now(UTC) - timedelta(hours=1)
    push_app.extensions["unknot_scheduler"] = object()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json["scheduler"]["ok"] is False
        push_app.extensions["unknot_heartbeat"] = datetime.now(UTC)
        assert client.get("/healthz").status_code == 200
        store = database(push_app)
        engine = store.engine
        store.engine = __import__("sqlalchemy").create_engine("postgresql+psycopg://nobody@127.0.0.1:1/x")
        try:
            response = client.get("/healthz")
        finally:
            store.engine.dispose()
            store.engine = engine
        assert response.status_code == 503
        assert response.json["database"]["ok"] is False
    finally:
        push_app.extensions.pop("unknot_scheduler")


# -- the fan-out's HTTP client ----------------------------------------------------------

class RawServer:
    """Answers each request with the next canned bytes (then closes if told)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(5)
        self.origin = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                buf = b""
                while self.answers:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        break
                    if not data:
                        break
                    buf += data
                    head, sep, rest = buf.partition(b"\r\n\r\n")
                    if not sep:
                        continue
                    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0]
                                 .split(b":")[1])
                    if len(rest) < length:
                        continue
                    buf = rest[length:]
                    self.requests += 1
                    answer, close = self.answers.pop(0)
                    conn.sendall(answer)
                    if close:
                        break

    def stop(self):
        self.answers = []
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def fan(push_app):
    made = []

    def make(origin, **kwargs):
        f = Fanout(channel(push_app).signer, concurrency=2, connect_timeout=1, timeout=1,
                   trusted_origins=kwargs.pop("trusted", {origin}), **kwargs)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def send(f, push_service, endpoint=None):
    sub = push_service.make_subscription()
    return f.send(endpoint or sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], b'{"a":1}',
                  ttl=60, urgency="normal", topic="unknot-test")


def test_fanout_reads_chunked_and_close_delimited_answers_and_reconnects(fan, push_service):
    server = RawServer([
        (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", False),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 410 Gone\r\n\r\nthis subscription has expired", True),
        (b"HTTP/1.1 429 Too Many\r\nRetry-After: 30\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno", True),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", True),  # then closes: stale for the next
        (b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", False),
    ])
    try:
        f = fan(server.origin)
        endpoint = f"{server.origin}/push/x"
        outcomes = [send(f, push_service, endpoint) for _ in range(4)]
        assert [r.outcome for r in outcomes] == ["ok", "ok", "gone", "retry"]
        assert outcomes[3].retry_after == 30
        assert "x" not in (outcomes[2].error or "").replace("expired", "")  # endpoint path redacted
        assert send(f, push_service, endpoint).outcome == "ok"
        # The server closed that keep-alive connection: the next send notices and reconnects once.
        assert send(f, push_service, endpoint).outcome == "ok"
        assert server.requests == 6
        # Connections closed with their answer are let go (an idle one waits for its next use).
        idle = {c for pool in f.client._pools.values() for c in pool.idle}
        assert not [c for c in f.client._open if c.closed and c not in idle]
    finally:
        server.stop()


def test_fanout_refuses_names_that_resolve_to_private_addresses(fan, push_service):
    origin = f"http://localhost:{push_service.port}"
    f = fan(origin, trusted=frozenset())
    result = send(f, push_service, f"{origin}/push/x")
    assert result.outcome == "drop" and "not a public address" in result.error
    assert push_service.hits == 0


def test_fanout_classifies_like_the_sender(fan, push_service):
    f = fan(push_service.origin)
    for status, outcome in ((201, "ok"), (404, "gone"), (410, "gone"), (500, "retry"), (503, "retry"),
                            (429, "retry"), (400, "drop"), (413, "drop"), (301, "drop")):
        if status != 201:
            push_service.respond(status, times=1)
        sub = push_service.make_subscription()
        r = f.send(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], b"{}", ttl=5,
                   urgency="high", topic="t")
        assert r.outcome == outcome, (status, r)
    push_service.respond("reset", times=1)  # on a kept-alive connection: tried once more, fresh
    assert send(f, push_service).outcome == "ok"
    push_service.respond("reset", times=2)
    assert send(f, push_service).outcome == "retry"
    push_service.respond("hang", seconds=3, times=1)
    r = send(f, push_service)
    assert r.outcome == "retry" and "timeout" in r.error and r.elapsed < 2.5
    bad = f.send(f"{push_service.origin}/push/x", "AAAA", "BBBB", b"{}", ttl=5, urgency="high", topic="t")
    assert bad.outcome == "drop" and "invalid subscription" in bad.error
    [message] = [m for m in push_service.messages if m.headers["urgency"] == "high"]
    assert message.payload == {} and message.claims["aud"] == push_service.origin


def test_a_pass_claims_a_few_rows_first_and_doubles_up_to_the_batch(make_app, push_service, monkeypatch):
    """The sender starts on 64 rows instead of waiting for a whole batch's claim."""
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    key = channel(app).public_key
    subs = [push_service.make_subscription(application_server_key=key) for _ in range(300)]
    with app.app_context(), db.begin() as session:
        add_due(session, subs, T0 - timedelta(seconds=1))
    app.config["CLOCK"].set(T0)
    limits, real = [], dispatch.claim

    def noting(session, moment, limit, **kw):
        limits.append(limit)
        return real(session, moment, limit, **kw)

    monkeypatch.setattr(dispatch, "claim", noting)
    with app.app_context():
        assert dispatch.run_pass(app, batch=200) == {"ok": 300}
    assert limits[:4] == [64, 128, 200, 200]
    assert len({m.path for m in push_service.wait_for(300)}) == 300


def test_sender_processes_send_the_same_verified_messages(make_app, push_service):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, SEND_PROCESSES=2, SEND_CONCURRENCY=8)
    key = channel(app).public_key
    subs = [push_service.make_subscription(application_server_key=key) for _ in range(30)]
    with app.app_context(), db.begin() as session:
        add_due(session, subs, T0 - timedelta(seconds=1))
    app.config["CLOCK"].set(T0)
    with app.app_context():
        assert dispatch.run_pass(app, batch=8) == {"ok": 30}
    messages = push_service.wait_for(30)
    assert len({m.path for m in messages}) == 30 and push_service.rejections == []
    assert {m.claims["aud"] for m in messages} == {push_service.origin}
    push_service.respond("hang", seconds=2)
    with app.app_context(), db.begin() as session:
        add_due(session, [push_service.make_subscription(application_server_key=key) for _ in range(20)],
                T0 - timedelta(seconds=1))
    reconfigure(app, dispatch_pass_seconds=0.5, push_timeout=0.3)
    senders.close(app)  # new settings, new sender processes
    with app.app_context():
        counts = dispatch.run_pass(app)
    assert counts["retry"] + counts["deferred"] == 20 and counts["deferred"] > 0


def test_fanout_never_resends_once_part_of_an_answer_came(fan, push_service):
    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    server = RawServer([(ok, False), (b"HTTP/1.1 201 Cre", True), (ok, False)])
    try:
        f = fan(server.origin)
        endpoint = f"{server.origin}/push/x"
        assert send(f, push_service, endpoint).outcome == "ok"
        cut = send(f, push_service, endpoint)  # on the kept-alive connection: cut short, not sent again
        assert (cut.status, cut.outcome) == (None, "retry") and "middle of an answer" in cut.error
        assert server.requests == 2
        assert send(f, push_service, endpoint).outcome == "ok"  # a new connection
        assert server.requests == 3
    finally:
        server.stop()


def test_workers_and_dispatch_use_every_core_by_default_and_the_web_process_none(make_app, monkeypatch):
    monkeypatch.setattr(senders, "usable_cores", lambda: 4)
    app = make_app()
    assert senders.send_processes(app) == 0  # the scheduler inside a web process: never forked
    for role in ("worker", "dispatch"):
        app.extensions["unknot_role"] = role
        assert senders.send_processes(app) == 4
    reconfigure(app, send_processes=1)
    assert senders.send_processes(app) == 1
    monkeypatch.setattr(senders, "usable_cores", lambda: 1)
    reconfigure(app, send_processes=None)
    assert senders.send_processes(app) == 0  # one core: encrypting beside the network is as fast


def test_a_dispatch_process_forks_a_sender_process_per_core_without_any_setting(make_app):
    """The wiring, not only the count: the sender a `reminders dispatch` pass
    uses has its processes running (none on a one-core machine)."""
    app = make_app()
    app.extensions["unknot_role"] = "dispatch"
    made = senders.sender(app)
    cores = senders.usable_cores()
    assert len(made._shards) == (cores if cores > 1 else 0)
    assert all(shard.process.is_alive() for shard in made._shards)


def test_the_dispatch_command_uses_the_dispatch_role_and_prints_config_errors(make_app, push_service, clock):
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, SEND_PROCESSES=0)
    sub = push_service.make_subscription(application_server_key=channel(app).public_key)
    with app.app_context(), db.begin() as session:
        add_due(session, [sub], T0 - timedelta(seconds=1))
    clock.set(T0)
    push_service.respond(403)
    result = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0, result.output
    assert "config=1" in result.output and "ok=0" in result.output
    assert app.extensions["unknot_role"] == "dispatch" and app.extensions["unknot_sender"].current is None  # closed
