"""Claiming due reminders: one UPDATE ... RETURNING leases a batch of due,
unclaimed rows to this pass (FOR UPDATE SKIP LOCKED on PostgreSQL, so
workers take different rows without waiting), with their subscriptions."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, or_, select, update

from webapp.jobs import bulk
from webapp.store.models import DueReminder, Subscription

T = DueReminder.__table__


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
    (oldest due first) with their subscriptions: on PostgreSQL read in the
    same statement, on SQLite (whose RETURNING sees only the updated
    table) in a second one."""
    S = Subscription.__table__
    subscription = (S.c.endpoint, S.c.p256dh, S.c.auth, cast(S.c.plan, Text).label("plan_key"))
    free = or_(T.c.lease_until.is_(None), T.c.lease_until < now)
    picked = (
        select(T.c.subscription_id, T.c.kind)
        .where(T.c.due_at <= now, free)
        .order_by(T.c.due_at)
        .limit(limit)
    )
    lease_them = update(T).values(lease_until=now + lease, claim=token)
    if session.bind.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        result = session.execute(
            lease_them
            .where(T.c.subscription_id == picked.c.subscription_id, T.c.kind == picked.c.kind,
                   S.c.id == T.c.subscription_id)
            .returning(*T.c, *subscription)
        )
        keys, width = tuple(result.keys()), len(T.c)  # the row's columns, then its subscription's
        row_keys, sub_keys = keys[:width], ("id", *keys[width:])
        rows, subs = [], {}
        for r in result.all():
            row = dict(zip(row_keys, r))
            rows.append(row)
            sid = row["subscription_id"]
            if sid not in subs:
                subs[sid] = dict(zip(sub_keys, (sid, *r[width:])))
    else:
        picked = picked.cte("picked")
        result = session.execute(
            lease_them
            .where(T.c.subscription_id == picked.c.subscription_id, T.c.kind == picked.c.kind)
            .returning(*T.c)
        )
        keys = tuple(result.keys())
        rows = [dict(zip(keys, r)) for r in result.all()]
        if not rows:
            return []
        result = session.execute(
            select(S.c.id, *subscription).where(bulk.among(session, S.c.id, {r["subscription_id"] for r in rows}))
        )
        keys = tuple(result.keys())
        subs = {r[0]: dict(zip(keys, r)) for r in result.all()}
    # Plans come as text and are parsed once per distinct plan: many people
    # share one, and the text doubles as a key for the schedule memo.
    plans = {}
    for sub in subs.values():
        plan = plans.get(sub["plan_key"])
        if plan is None:
            plan = plans[sub["plan_key"]] = json.loads(sub["plan_key"])
        sub["plan"] = plan
    jobs = [Job(row=r, sub=subs[r["subscription_id"]]) for r in rows if r["subscription_id"] in subs]
    jobs.sort(key=lambda j: j.row["due_at"])
    return jobs
