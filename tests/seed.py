"""Put subscriptions with due reminders straight into the database (not a
test module): many at once, faster than through the API."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert

from webapp.store.models import DueReminder, Subscription
from webapp.reminders.plan import default_plan


def awake_plan(now: datetime) -> dict:
    """A UTC plan whose quiet hours are far from ``now`` (tests run at any hour)."""
    plan = default_plan("UTC")
    quiet_from = (now + timedelta(hours=6)).strftime("%H:%M")
    quiet_until = (now + timedelta(hours=7)).strftime("%H:%M")
    plan["quiet"] = {"from": quiet_from, "until": quiet_until}
    plan["hydration"].update({"from": "00:00", "until": "23:59", "every_minutes": 120, "goal_glasses": 0})
    plan["stretch"] = {"enabled": False, "at": []}
    return plan


def add_due(session, subscriptions: list[dict], due_at: datetime, *, kind="hydration", plan=None,
            ttl=timedelta(hours=1)) -> list[str]:
    """One subscription and one due ``kind`` row per PushSubscription JSON; their ids."""
    plan = plan or awake_plan(due_at)
    ids = [secrets.token_hex(16) for _ in subscriptions]
    session.execute(insert(Subscription), [
        {"id": i, "endpoint": s["endpoint"], "p256dh": s["keys"]["p256dh"], "auth": s["keys"]["auth"],
         "token_hash": secrets.token_hex(32), "plan": plan, "created_at": due_at}
        for i, s in zip(ids, subscriptions)
    ])
    session.execute(insert(DueReminder), [
        {"subscription_id": i, "kind": kind, "due_at": due_at, "occurrence": 0, "attempts": 0,
         "expires_at": due_at + ttl}
        for i in ids
    ])
    return ids
