"""Writing a batch's results: the next due time of each kind, retries by
the retry policy, gone subscriptions deleted, the delivery log; only for
rows this batch still holds (the claim token is in every WHERE)."""
from __future__ import annotations

import re
from datetime import timedelta, timezone

from sqlalchemy import func, select

from webapp.jobs import bulk
from webapp.jobs.messages import service_of
from webapp.jobs.retry import RetryPolicy
from webapp.reminders import schedule
from webapp.store.models import Subscription, WaterLog

EPSILON = timedelta(microseconds=1)
# Control characters (NUL above all, which PostgreSQL's text refuses) that a
# push service's answer may carry into the error we log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _glasses(session, jobs, kinds, now):
    """Glasses logged per local day, for the jobs of water-rule kinds, in one
    query: only from the earliest day one of them counts in (a local date is
    at most a day behind UTC's), not the whole log (UNKNOT_KEEP_LOGS_DAYS of
    it, several rows a day for everyone who logs water)."""
    water = [j for j in jobs if getattr(kinds.by_name.get(j.row["kind"]), "rule", None) == "interval"]
    if not water:
        return {}
    since = min(_next_after(j.row, now) for j in water).astimezone(timezone.utc).date() - timedelta(days=1)
    # The table's columns, not the ORM's: the dispatch pass uses no ORM, so a
    # `reminders dispatch` process never configures the mappers mid-pass.
    W = WaterLog.__table__
    counts = session.execute(
        select(W.c.subscription_id, W.c.local_date, func.count())
        .where(bulk.among(session, W.c.subscription_id, [j.sub["id"] for j in water]),
               W.c.local_date >= since.isoformat())
        .group_by(W.c.subscription_id, W.c.local_date)
    ).all()
    return {(sid, day): n for sid, day, n in counts}


def _next_after(row, now):
    """The moment after which a row's next reminder is looked for: now, or,
    for a reminder that ran out of time, its last moment (so that however
    long the outage, one catch-up per kind follows, not many)."""
    return min(now, row["expires_at"] - EPSILON) if row["expires_at"] else now


def _result_row(row, token, **values):
    """The write for ``row``: its values, with ``values`` (v_due_at=...) in their place."""
    new = {
        "k_sid": row["subscription_id"], "k_kind": row["kind"], "k_claim": token,
        "v_due_at": row["due_at"], "v_attempts": row["attempts"], "v_expires_at": row["expires_at"],
        "v_occurrence": row["occurrence"], "v_last_tip": row["last_tip"],
    }
    new.update(values)
    return new


class _Plans:
    """A plan's local date, and the next due time with its deadline, computed
    once per distinct (plan, moment) and (plan, kind, moment, glasses) in a
    batch: many people share a plan."""

    def __init__(self, kinds):
        self.kinds = kinds
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
            due = schedule.next_live_due(plan, kind, after, now, glasses_today=glasses, kinds=self.kinds)
            found = self._memo[key] = (
                due, None if due is None else schedule.deliver_by(plan, kind, due, kinds=self.kinds))
        return found


def apply(session, jobs, now, token, *, kinds, retry: RetryPolicy):
    """Write every job's result, for rows this batch still holds."""
    glasses = _glasses(session, [j for j in jobs if j.started], kinds, now)
    plans = _Plans(kinds)
    gone, finished, updates, log_rows = set(), [], [], []
    for job in jobs:
        row, sub, kind = job.row, job.sub, job.row["kind"]
        if not job.started:  # the deadline came first: give the row back as it was
            updates.append(_result_row(row, token))
            continue
        if job.outcome != "skipped":
            log_rows.append({
                "subscription_id": sub["id"], "kind": kind, "service": job.service or service_of(sub["endpoint"]),
                "due_at": row["due_at"], "occurrence": row["occurrence"], "sent_at": now,
                "status": job.status, "outcome": job.outcome,
                "latency_ms": int((now - row["due_at"]).total_seconds() * 1000), "error": _printable(job.error),
            })
        if job.outcome == "gone":
            gone.add(sub["id"])
            continue
        if job.outcome == "retry":
            wait = retry.wait(row["attempts"], job.retry_after)
            if row["expires_at"] is None or now + wait < row["expires_at"]:
                updates.append(_result_row(row, token, v_due_at=now + wait, v_attempts=row["attempts"] + 1))
                continue
        key = {"k_sid": row["subscription_id"], "k_kind": kind, "k_claim": token}
        # Sent once (the test push), or a kind this app no longer knows (its
        # message was dropped): nothing comes next, and the row goes.
        if kind not in kinds.by_name or kinds[kind].rule is None:
            finished.append(key)
            continue
        # A reminder that ran out of time gives way to the next one of its
        # kind still worth sending, which may itself be due already.
        after = _next_after(row, now)
        day = plans.day(sub["plan"], sub["plan_key"], after)
        due, deliver_by = plans.next(sub["plan"], sub["plan_key"], kind, after, now, glasses.get((sub["id"], day), 0))
        if due is None:
            finished.append(key)
            continue
        updates.append(_result_row(
            row, token, v_due_at=due, v_attempts=0, v_expires_at=deliver_by,
            v_occurrence=row["occurrence"] + 1, v_last_tip=job.tip if job.outcome == "ok" else row["last_tip"],
        ))
    bulk.update_results(session, updates)
    bulk.finish(session, finished)
    if gone:
        session.execute(Subscription.__table__.delete().where(bulk.among(session, Subscription.id, sorted(gone))))
    bulk.log_deliveries(session, log_rows)


def _printable(error):
    return None if error is None else _CONTROL.sub(" ", error)
