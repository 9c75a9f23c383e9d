"""Storage side of reminders, shared by the API and the dispatcher: a
subscription's due rows follow its plan, the water log and snoozes."""
from datetime import timedelta

from sqlalchemy import delete, func, select

from webapp.reminders import schedule
from webapp.store.models import DueReminder, Subscription, WaterLog

KINDS = ("hydration", "stretch")
# A test push older than this is not worth sending.
TEST_TTL = timedelta(minutes=10)


def glasses_today(session, sub, now):
    day = schedule.local_date(sub.plan, now).isoformat()
    return session.scalar(
        select(func.count()).select_from(WaterLog).where(
            WaterLog.subscription_id == sub.id, WaterLog.local_date == day
        )
    )


def due_row(session, sub, kind):
    return session.get(DueReminder, (sub.id, kind))


def set_due(session, sub, kind, due_at, *, row=None):
    """Point the kind's row at ``due_at`` (None removes it) and clear any claim
    (a dispatcher still sending the old occurrence then leaves the row alone)."""
    row = row or due_row(session, sub, kind)
    if due_at is None:
        if row is not None:
            session.delete(row)
        return None
    if row is None:
        row = DueReminder(subscription_id=sub.id, kind=kind, occurrence=0, attempts=0)
        session.add(row)
    elif row.due_at != due_at:
        row.occurrence = (row.occurrence or 0) + 1  # a new occurrence, a new identity
    row.due_at = due_at
    row.attempts = 0
    row.lease_until = None
    row.claim = None
    row.expires_at = (
        schedule.deliver_by(sub.plan, kind, due_at) if kind in KINDS else due_at + TEST_TTL
    )
    return row


def schedule_kind(session, sub, kind, now, *, glasses=None, row=None):
    if kind == "hydration" and glasses is None:
        glasses = glasses_today(session, sub, now)
    due = schedule.next_due(sub.plan, kind, now, glasses_today=glasses or 0)
    return set_due(session, sub, kind, due, row=row)


def schedule_all(session, sub, now):
    for kind in KINDS:
        schedule_kind(session, sub, kind, now)


def next_times(session, sub):
    rows = {
        r.kind: r
        for r in session.scalars(select(DueReminder).where(DueReminder.subscription_id == sub.id))
    }
    return {k: rows[k].due_at.isoformat() if k in rows else None for k in KINDS}


def log_water(session, sub, now):
    session.add(WaterLog(subscription_id=sub.id, at=now,
                         local_date=schedule.local_date(sub.plan, now).isoformat()))
    session.flush()
    schedule_kind(session, sub, "hydration", now)


def snooze(session, sub, kind, minutes, now):
    set_due(session, sub, kind, schedule.snooze_until(sub.plan, now, minutes))


def queue_test(session, sub, now):
    set_due(session, sub, "test", now)


def delete_subscription(session, sub_id):
    session.execute(delete(Subscription).where(Subscription.id == sub_id))
