"""One dispatch pass: claim what is due, send it concurrently, store the
next due time of each kind. Safe to run in many processes at once: rows are
claimed with a lease in one UPDATE ... RETURNING (with SKIP LOCKED on
PostgreSQL), so no two dispatchers send the same occurrence."""
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, tuple_, update

from . import clock, content, schedule
from .db import db
from .models import Delivery, DueReminder, Subscription, WaterLog
from .payloads import URGENCY, next_tip, reminder_payload
from .push import encode_payload, origin_of, topic_for
from .pushing import channel
from .reminders import KINDS

LEASE = timedelta(seconds=90)
BATCH = 500
MAX_BATCHES = 100
SEND_THREADS = 32
MAX_BACKOFF = timedelta(hours=1)
EPSILON = timedelta(microseconds=1)
# A retry never comes back within the same pass.
MIN_RETRY = timedelta(seconds=10)


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


def claim(session, now, limit):
    """Lease up to ``limit`` due rows to this pass and return them."""
    free = or_(DueReminder.lease_until.is_(None), DueReminder.lease_until < now)
    due = (
        select(DueReminder.subscription_id, DueReminder.kind)
        .where(DueReminder.due_at <= now, free)
        .order_by(DueReminder.due_at)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(
        update(DueReminder)
        .where(tuple_(DueReminder.subscription_id, DueReminder.kind).in_(due), free)
        .values(lease_until=now + LEASE)
        .returning(*DueReminder.__table__.c)
        .execution_options(synchronize_session=False)
    ).mappings().all()
    if not rows:
        return []
    ids = {r["subscription_id"] for r in rows}
    subs = {
        s["id"]: s
        for s in session.execute(
            select(*Subscription.__table__.c).where(Subscription.id.in_(ids))
        ).mappings()
    }
    return [Job(row=dict(r), sub=dict(subs[r["subscription_id"]])) for r in rows]


def _send(app, job, now, tips):
    try:
        return _send_one(app, job, now, tips)
    except Exception as e:  # one bad subscription must not stop the pass
        app.logger.warning("push to %s failed: %s", origin_of(job.sub["endpoint"]), type(e).__name__)
        job.outcome, job.error = "drop", type(e).__name__
        return job


def _send_one(app, job, now, tips):
    row, sub = job.row, job.sub
    if row["kind"] != "test" and (
        schedule.in_quiet(sub["plan"], now) or (row["expires_at"] and now >= row["expires_at"])
    ):
        job.outcome, job.error = "skipped", "quiet hours" if schedule.in_quiet(sub["plan"], now) else "expired"
        return job
    if row["kind"] != "test":
        job.tip = next_tip(row["last_tip"], len(tips[row["kind"]]))
    data = encode_payload(**reminder_payload(row["kind"], tips, job.tip))
    ttl = max(1, int((row["expires_at"] - now).total_seconds())) if row["expires_at"] else 3600
    result = channel(app).sender.send(
        {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}},
        data, ttl=ttl, urgency=URGENCY[row["kind"]], topic=topic_for(row["kind"]),
    )
    job.outcome, job.status, job.error = result.outcome, result.status, result.error
    job.retry_after, job.elapsed = result.retry_after, result.elapsed
    return job


def _glasses(session, jobs, now):
    """Glasses logged today, local to each subscription, in one query."""
    ids = [j.sub["id"] for j in jobs if j.row["kind"] == "hydration"]
    if not ids:
        return {}
    counts = session.execute(
        select(WaterLog.subscription_id, WaterLog.local_date, func.count())
        .where(WaterLog.subscription_id.in_(ids))
        .group_by(WaterLog.subscription_id, WaterLog.local_date)
    ).all()
    return {(sid, day): n for sid, day, n in counts}


def _apply(session, jobs, now):
    glasses = _glasses(session, jobs, now)
    gone, finished, updates, log = set(), [], [], []
    for job in jobs:
        row, sub, kind = job.row, job.sub, job.row["kind"]
        if job.outcome != "skipped":
            log.append({
                "subscription_id": sub["id"], "kind": kind, "service": origin_of(sub["endpoint"]),
                "due_at": row["due_at"], "sent_at": now, "status": job.status,
                "outcome": job.outcome, "latency_ms": int((now - row["due_at"]).total_seconds() * 1000),
                "error": job.error,
            })
        if job.outcome == "gone":
            gone.add(sub["id"])
            continue
        if job.outcome == "retry":
            wait = max(MIN_RETRY, timedelta(seconds=job.retry_after) if job.retry_after is not None
                       else min(timedelta(seconds=30 * 2 ** row["attempts"]), MAX_BACKOFF))
            if row["expires_at"] is None or now + wait < row["expires_at"]:
                updates.append({**_key(row), "due_at": now + wait, "attempts": row["attempts"] + 1,
                                "lease_until": None})
                continue
        if kind == "test":
            finished.append(_key(row))
            continue
        # A reminder that ran out of time gives way to the next one of its
        # kind, which may itself be due already (one catch-up, not many).
        after = min(now, row["expires_at"] - EPSILON) if row["expires_at"] else now
        day = schedule.local_date(sub["plan"], after).isoformat()
        due = schedule.next_due(sub["plan"], kind, after,
                                glasses_today=glasses.get((sub["id"], day), 0))
        if due is None:
            finished.append(_key(row))
            continue
        sent = job.outcome == "ok"
        updates.append({
            **_key(row), "due_at": due, "attempts": 0, "lease_until": None,
            "expires_at": schedule.deliver_by(sub["plan"], kind, due),
            "occurrence": row["occurrence"] + 1,
            "last_tip": job.tip if sent else row["last_tip"],
        })
    if updates:
        session.execute(update(DueReminder), updates)
    for key in finished:
        session.execute(delete(DueReminder).where(
            DueReminder.subscription_id == key["subscription_id"], DueReminder.kind == key["kind"]))
    if gone:
        session.execute(delete(Subscription).where(Subscription.id.in_(gone)))
    ok_ids = {j.sub["id"] for j in jobs if j.outcome == "ok"} - gone
    if ok_ids:
        session.execute(update(Subscription).where(Subscription.id.in_(ok_ids))
                        .values(last_success_at=now))
    if log:
        session.execute(insert(Delivery), log)


def _key(row):
    return {"subscription_id": row["subscription_id"], "kind": row["kind"]}


def run_pass(app, *, now: datetime | None = None, batch=BATCH, max_batches=MAX_BATCHES):
    """Send everything due; return counts by outcome. Bounded in batches."""
    tips = content.load("tips")
    counts = Counter()
    with ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="push") as pool:
        for _ in range(max_batches):
            moment = now or clock.now(app)
            with db.begin() as session:
                jobs = claim(session, moment, batch)
            if not jobs:
                break
            list(pool.map(lambda j: _send(app, j, moment, tips), jobs))
            with db.begin() as session:
                _apply(session, jobs, moment)
            counts.update(j.outcome for j in jobs)
    return counts
