"""One dispatch pass: claim what is due, send it concurrently, store the
next due time of each kind.

Safe to run in any number of processes against one database:

- **Claim** (one short transaction per batch): one UPDATE ... RETURNING
  stamps up to ``batch`` due, unclaimed rows with a lease (``lease_until``)
  and this batch's random claim token (``claim``). On PostgreSQL the rows
  are picked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take
  different rows without waiting for each other; SQLite has one writer at
  a time anyway.
- **Send** (no transaction open): by webapp.fanout, hundreds in flight
  on keep-alive connections, while this thread claims the next batch and
  writes the results of the last. No send starts after the pass deadline or
  after half the lease, so a send always ends (each request has a total
  deadline, UNKNOT_PUSH_TIMEOUT) well before another worker may take the
  row over.
- **Apply** (one short transaction per batch): every result is written
  with executemany statements whose WHERE includes the claim token: if the
  lease ran out and another worker took the row over, or the user changed
  the plan meanwhile (reminders.set_due clears the claim), this pass's
  result is dropped instead of overwriting theirs.

A worker that dies (SIGKILL, power loss) leaves its rows claimed until the
lease ends; then the next pass takes them over and sends the same
occurrence (same ``occurrence`` number, same Topic header, so the push
service replaces a copy that might still be on its way): nothing is lost,
and at most the messages that were in flight go out twice.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, bindparam, cast, func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from webapp import clock, content
from webapp.reminders import schedule
from webapp.store.db import db
from webapp.config import Defaults
from webapp.push.sender import Fanout, Message
from webapp.store.models import Delivery, DueReminder, Heartbeat, Subscription, UTCDateTime, WaterLog
from webapp.reminders.payloads import URGENCY, next_tip, reminder_payload
from webapp.push.message import encode_payload, origin_of, topic_for
from webapp.push.channel import channel

log = logging.getLogger(__name__)

MAX_BATCHES = 200
MAX_BACKOFF = timedelta(hours=1)
EPSILON = timedelta(microseconds=1)
# A retry never comes back within the same pass.
MIN_RETRY = timedelta(seconds=10)
# A transaction that meets a busy/locked database is tried this many times.
DB_ATTEMPTS = 6

T = DueReminder.__table__


def setting(app, name):
    """A dispatch setting (webapp.config), as the type of its default."""
    return type(getattr(Defaults, name))(app.config[name])


@dataclass
class Job:
    row: dict
    sub: dict
    outcome: str = ""
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    elapsed: float = 0.0
    tip: int | None = None
    started: bool = False
    service: str = ""  # the push service's origin, as the sender found it


# -- claim ----------------------------------------------------------------------

def claim(session, now: datetime, limit: int, *, lease: timedelta, token: str) -> list[Job]:
    """Lease up to ``limit`` due, unclaimed rows to ``token``; return them
    (oldest due first) with their subscriptions."""
    free = or_(T.c.lease_until.is_(None), T.c.lease_until < now)
    picked = (
        select(T.c.subscription_id, T.c.kind)
        .where(T.c.due_at <= now, free)
        .order_by(T.c.due_at)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    else:
        picked = picked.cte("picked")
    result = session.execute(
        update(T)
        .where(T.c.subscription_id == picked.c.subscription_id, T.c.kind == picked.c.kind)
        .values(lease_until=now + lease, claim=token)
        .returning(*T.c)
    )
    names = tuple(result.keys())
    rows = [dict(zip(names, r)) for r in result.all()]
    if not rows:
        return []
    # Plans come as text and are parsed once per distinct plan: many people
    # share one, and the text doubles as a key for the schedule memo.
    S = Subscription.__table__
    result = session.execute(
        select(S.c.id, S.c.endpoint, S.c.p256dh, S.c.auth, cast(S.c.plan, Text).label("plan_key"))
        .where(S.c.id.in_({r["subscription_id"] for r in rows}))
    )
    names, plans, subs = tuple(result.keys()), {}, {}
    for r in result.all():
        sub = dict(zip(names, r))
        plan = plans.get(sub["plan_key"])
        if plan is None:
            plan = plans[sub["plan_key"]] = json.loads(sub["plan_key"])
        sub["plan"] = plan
        subs[sub["id"]] = sub
    jobs = [Job(row=r, sub=subs[r["subscription_id"]]) for r in rows if r["subscription_id"] in subs]
    jobs.sort(key=lambda j: j.row["due_at"])
    return jobs


# -- send -----------------------------------------------------------------------

class _Sending:
    """Turns claimed jobs into messages, and results back into jobs."""

    def __init__(self, now, tips):
        self.now = now
        self.tips = tips
        self._payloads = {}
        self._quiet = {}  # plan text -> in its quiet hours now (many people share a plan)

    def payload(self, kind, tip):
        data = self._payloads.get((kind, tip))
        if data is None:
            data = self._payloads[(kind, tip)] = encode_payload(**reminder_payload(kind, self.tips, tip))
        return data

    def prepare(self, job) -> Message | None:
        """The message for a job, or None when it is not to be sent (quiet
        hours, expired)."""
        row, sub, now = job.row, job.sub, self.now
        kind = row["kind"]
        if kind != "test":
            quiet = self._quiet.get(sub["plan_key"])
            if quiet is None:
                quiet = self._quiet[sub["plan_key"]] = schedule.in_quiet(sub["plan"], now)
            if quiet:
                job.outcome, job.error = "skipped", "quiet hours"
                return None
            if row["expires_at"] and now >= row["expires_at"]:
                job.outcome, job.error = "skipped", "expired"
                return None
            job.tip = next_tip(row["last_tip"], len(self.tips[kind]))
        elif row["expires_at"] and now >= row["expires_at"]:
            job.outcome, job.error = "skipped", "expired"
            return None
        ttl = max(1, int((row["expires_at"] - now).total_seconds())) if row["expires_at"] else 3600
        return Message(sub["endpoint"], sub["p256dh"], sub["auth"], self.payload(kind, job.tip), ttl,
                       URGENCY[kind], _topic(kind))

    def start(self, sender, jobs, until):
        """Hand the jobs' messages to the sender: (jobs sent, Future of results)."""
        ready, messages = [], []
        for job in jobs:
            try:
                message = self.prepare(job)
            except Exception as e:  # one bad subscription must not stop the pass
                job.started = True
                _failed(job, e)
                continue
            if message is None:
                job.started = True
            else:
                ready.append(job)
                messages.append(message)
        return ready, sender.submit(messages, until)

    @staticmethod
    def finish(ready, results):
        for job, result in zip(ready, results):
            if result is not None:  # None: not started before the deadline
                job.started = True
                job.outcome, job.status, job.error = result.outcome, result.status, result.error
                job.retry_after, job.elapsed, job.service = result.retry_after, result.elapsed, result.origin


def _failed(job, e):
    log.warning("push to %s failed: %s", _service(job.sub["endpoint"]), type(e).__name__)
    job.outcome, job.error = "drop", type(e).__name__


@functools.lru_cache(maxsize=16)
def _topic(kind):
    return topic_for(kind)


_fanouts_lock = threading.Lock()


def send_processes(app) -> int:
    """Encryption processes for this process's sender: UNKNOT_SEND_PROCESSES
    if set, else every core for a dedicated worker or ``reminders dispatch``,
    and none for the scheduler embedded in a web process (never forked)."""
    configured = app.config.get("SEND_PROCESSES")
    if configured not in (None, ""):
        return int(configured)
    if app.extensions.get("unknot_role") not in ("worker", "dispatch"):
        return 0
    cores = usable_cores()
    return cores if cores > 1 else 0


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fanout(app) -> Fanout:
    """This process's sender for ``app``, made once per process: a forked
    child must not share its parent's loop, sockets or pipes."""
    current = app.extensions.get("unknot_fanout")
    if current is None or current[0] != os.getpid():
        with _fanouts_lock:
            current = app.extensions.get("unknot_fanout")
            if current is None or current[0] != os.getpid():
                sender = Fanout(
                    channel(app).signer,
                    concurrency=setting(app, "SEND_CONCURRENCY"),
                    connect_timeout=setting(app, "PUSH_CONNECT_TIMEOUT"),
                    timeout=setting(app, "PUSH_TIMEOUT"),
                    per_origin=setting(app, "PUSH_CONNECTIONS_PER_ORIGIN"),
                    trusted_origins=channel(app).allowed.private_ok,
                    ca_bundle=app.config.get("PUSH_CA_BUNDLE") or None,
                    processes=send_processes(app),
                )
                app.extensions["unknot_fanout"] = current = (os.getpid(), sender)
    return current[1]


def close(app) -> None:
    """Stop the sender of ``app`` (its loop, connections and processes)."""
    current = app.extensions.pop("unknot_fanout", None)
    if current is not None and current[0] == os.getpid():
        current[1].close()


# -- apply ----------------------------------------------------------------------

_RESULT = (
    update(T)
    .where(T.c.subscription_id == bindparam("k_sid"), T.c.kind == bindparam("k_kind"),
           T.c.claim == bindparam("k_claim"))
    .values(
        due_at=bindparam("v_due_at", type_=UTCDateTime()),
        attempts=bindparam("v_attempts"),
        expires_at=bindparam("v_expires_at", type_=UTCDateTime()),
        occurrence=bindparam("v_occurrence"),
        last_tip=bindparam("v_last_tip"),
        lease_until=None,
        claim=None,
    )
)
_FINISH = T.delete().where(T.c.subscription_id == bindparam("k_sid"), T.c.kind == bindparam("k_kind"),
                           T.c.claim == bindparam("k_claim"))


def _glasses(session, jobs):
    """Glasses logged per local day, for the hydration jobs, in one query."""
    ids = [j.sub["id"] for j in jobs if j.row["kind"] == "hydration"]
    if not ids:
        return {}
    counts = session.execute(
        select(WaterLog.subscription_id, WaterLog.local_date, func.count())
        .where(WaterLog.subscription_id.in_(ids))
        .group_by(WaterLog.subscription_id, WaterLog.local_date)
    ).all()
    return {(sid, day): n for sid, day, n in counts}


def _result_row(row, token, **values):
    new = {
        "k_sid": row["subscription_id"], "k_kind": row["kind"], "k_claim": token,
        "v_due_at": row["due_at"], "v_attempts": row["attempts"], "v_expires_at": row["expires_at"],
        "v_occurrence": row["occurrence"], "v_last_tip": row["last_tip"],
    }
    new.update({f"v_{k}": v for k, v in values.items()})
    return new


class _Plans:
    """A plan's local date, and the next due time with its deadline, computed
    once per distinct (plan, moment) and (plan, kind, moment, glasses) in a
    batch: many people share a plan."""

    def __init__(self):
        self._memo = {}

    def day(self, plan, plan_key, moment):
        """The plan's local date at ``moment``, ISO."""
        found = self._memo.get((plan_key, moment))
        if found is None:
            found = self._memo[(plan_key, moment)] = schedule.local_date(plan, moment).isoformat()
        return found

    def next(self, plan, plan_key, kind, after, now, glasses):
        key = (plan_key, kind, after, now, glasses)
        found = self._memo.get(key)
        if found is None:
            due = schedule.next_live_due(plan, kind, after, now, glasses_today=glasses)
            found = self._memo[key] = (due, None if due is None else schedule.deliver_by(plan, kind, due))
        return found


def _apply(session, jobs, now, token):
    """Write every job's result, for rows this batch still holds."""
    glasses = _glasses(session, [j for j in jobs if j.started])
    plans = _Plans()
    gone, finished, updates, log_rows = set(), [], [], []
    for job in jobs:
        row, sub, kind = job.row, job.sub, job.row["kind"]
        if not job.started:  # the deadline came first: give the row back as it was
            updates.append(_result_row(row, token))
            continue
        if job.outcome != "skipped":
            log_rows.append({
                "subscription_id": sub["id"], "kind": kind, "service": job.service or _service(sub["endpoint"]),
                "due_at": row["due_at"], "occurrence": row["occurrence"], "sent_at": now,
                "status": job.status, "outcome": job.outcome,
                "latency_ms": int((now - row["due_at"]).total_seconds() * 1000), "error": job.error,
            })
        if job.outcome == "gone":
            gone.add(sub["id"])
            continue
        if job.outcome == "retry":
            wait = max(MIN_RETRY, timedelta(seconds=job.retry_after) if job.retry_after is not None
                       else min(timedelta(seconds=30 * 2 ** min(row["attempts"], 16)), MAX_BACKOFF))
            if row["expires_at"] is None or now + wait < row["expires_at"]:
                updates.append(_result_row(row, token, due_at=now + wait, attempts=row["attempts"] + 1))
                continue
        key = {"k_sid": row["subscription_id"], "k_kind": kind, "k_claim": token}
        if kind == "test":
            finished.append(key)
            continue
        # A reminder that ran out of time gives way to the next one of its
        # kind still worth sending, which may itself be due already: however
        # long the outage, one catch-up per kind, not many.
        after = min(now, row["expires_at"] - EPSILON) if row["expires_at"] else now
        day = plans.day(sub["plan"], sub["plan_key"], after)
        due, deliver_by = plans.next(sub["plan"], sub["plan_key"], kind, after, now, glasses.get((sub["id"], day), 0))
        if due is None:
            finished.append(key)
            continue
        updates.append(_result_row(
            row, token, due_at=due, attempts=0, expires_at=deliver_by,
            occurrence=row["occurrence"] + 1, last_tip=job.tip if job.outcome == "ok" else row["last_tip"],
        ))
    if updates:
        session.execute(_RESULT, updates)
    if finished:
        session.execute(_FINISH, finished)
    if gone:
        session.execute(Subscription.__table__.delete().where(Subscription.id.in_(sorted(gone))))
    if log_rows:
        session.execute(Delivery.__table__.insert(), log_rows)


def _service(endpoint):
    try:
        return origin_of(endpoint)
    except ValueError:
        return "invalid"


# -- transactions that survive a busy database ----------------------------------------

def _transient(exc) -> bool:
    """A lock or conflict that is worth another try (SQLite busy, PG deadlock...)."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in ("40001", "40P01", "55P03"):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


def in_transaction(fn, attempts=DB_ATTEMPTS):
    """Run ``fn(session)`` in a transaction, again (with backoff) if the
    database is briefly locked or a deadlock was broken."""
    for attempt in range(attempts):
        try:
            with db.begin() as session:
                return fn(session)
        except DBAPIError as exc:
            if attempt == attempts - 1 or not _transient(exc):
                raise
            delay = min(2.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.5)
            log.info("database busy (%s); again in %.2f s", type(exc.orig).__name__, delay)
            time.sleep(delay)


# -- the pass ---------------------------------------------------------------------

def run_pass(app, *, now: datetime | None = None, batch: int | None = None, max_batches=MAX_BATCHES):
    """Send everything due; return counts by outcome ("deferred": claimed but
    left for the next pass because the deadline came). Bounded in batches
    and in time.

    Batches overlap: while the sender has some in flight, this thread
    claims the next and writes the results of those that came back, so the
    sender is never idle waiting for the database (at most enough batches
    to fill SEND_CONCURRENCY, plus one, are claimed at once)."""
    tips = content.load("tips")
    batch = batch or setting(app, "DISPATCH_BATCH")
    lease_seconds = setting(app, "DISPATCH_LEASE_SECONDS")
    lease = timedelta(seconds=lease_seconds)
    deadline = time.monotonic() + setting(app, "DISPATCH_PASS_SECONDS")
    ahead = max(1, -(-setting(app, "SEND_CONCURRENCY") // batch)) + 1
    counts = Counter()
    sender = fanout(app)
    flying = deque()  # (jobs, token, jobs sent, Future of their results), oldest first

    def land():
        jobs, token, ready, future = flying.popleft()
        _Sending.finish(ready, future.result())
        done = now or clock.now(app)
        in_transaction(functools.partial(_apply, jobs=jobs, now=done, token=token))
        counts.update(j.outcome if j.started else "deferred" for j in jobs)

    try:
        for _ in range(max_batches):
            if time.monotonic() >= deadline:
                break
            if len(flying) >= ahead:
                land()
            moment = now or clock.now(app)
            token = secrets.token_hex(16)
            jobs = in_transaction(lambda s: claim(s, moment, batch, lease=lease, token=token))
            if not jobs:
                if not flying:
                    break
                land()  # its results may include a catch-up that is due now: look again
                continue
            send_until = min(deadline, time.monotonic() + lease_seconds / 2)
            ready, future = _Sending(moment, tips).start(sender, jobs, send_until)
            flying.append((jobs, token, ready, future))
    finally:
        while flying:
            land()
        sender.sweep()
    return counts


def next_due_after(app, moment: datetime) -> datetime | None:
    """The earliest due time after ``moment`` (so the tick can wake for it)."""
    with db.begin() as session:
        return session.scalar(select(func.min(DueReminder.due_at)).where(DueReminder.due_at > moment))


# -- heartbeats -------------------------------------------------------------------------

_STARTED = {}


def beat(app, role: str, moment: datetime) -> None:
    """Stamp this process's heartbeat row (GET /healthz reads the newest)."""
    pid = os.getpid()
    ident = f"{socket.gethostname()}:{pid}"[:128]
    started = _STARTED.setdefault(pid, moment)

    def write(session):
        dialect = session.bind.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:  # pragma: no cover
            session.merge(Heartbeat(id=ident, role=role, started_at=started, beat_at=moment))
            return
        stmt = upsert(Heartbeat).values(id=ident, role=role, started_at=started, beat_at=moment)
        session.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                   set_={"beat_at": moment, "role": role}))
        # Forget processes silent for a day.
        session.execute(Heartbeat.__table__.delete().where(Heartbeat.beat_at < moment - timedelta(days=1)))

    in_transaction(write)
