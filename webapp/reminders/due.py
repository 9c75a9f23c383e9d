"""Storage side of reminders, shared by the API and the dispatcher: a
subscription's due rows follow its plan, the water log and snoozes. Kinds
are named as in the rows; ``kinds`` is the app's registry of them."""
from sqlalchemy import delete, func, select

from webapp.reminders import schedule
from webapp.reminders.kinds import STANDARD
from webapp.store.models import DueReminder, Subscription, WaterLog


def glasses_today(session, sub, now):
    day = schedule.local_date(sub.plan, now).isoformat()
    return session.scalar(
        select(func.count()).select_from(WaterLog).where(
            WaterLog.subscription_id == sub.id, WaterLog.local_date == day
        )
    )


def due_row(session, sub, kind):
    return session.get(DueReminder, (sub.id, kind))


def set_due(session, sub, kind, due_at, *, row=None, kinds=STANDARD):
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
    expires = kinds[kind].expires
    row.expires_at = (
        due_at + expires if expires is not None else schedule.deliver_by(sub.plan, kind, due_at, kinds=kinds)
    )
    return row


def schedule_kind(session, sub, kind, now, *, glasses=None, row=None, kinds=STANDARD):
    if kinds[kind].rule == "interval" and glasses is None:
        glasses = glasses_today(session, sub, now)
    due = schedule.next_due(sub.plan, kind, now, glasses_today=glasses or 0, kinds=kinds)
    return set_due(session, sub, kind, due, row=row, kinds=kinds)


def schedule_all(session, sub, now, kinds=STANDARD):
    for kind in kinds.scheduled:
        schedule_kind(session, sub, kind.name, now, kinds=kinds)


def next_times(session, sub, kinds=STANDARD):
    """{kind: ISO-8601 or None} for every scheduled kind: the API's "next"."""
    rows = {
        r.kind: r
        for r in session.scalars(select(DueReminder).where(DueReminder.subscription_id == sub.id))
    }
    return {k.name: rows[k.name].due_at.isoformat() if k.name in rows else None for k in kinds.scheduled}


def log_water(session, sub, now, kinds=STANDARD):
    """A glass counts toward the goal of every kind with the water rule."""
    session.add(WaterLog(subscription_id=sub.id, at=now,
                         local_date=schedule.local_date(sub.plan, now).isoformat()))
    session.flush()
    schedule_water(session, sub, now, kinds)


def schedule_water(session, sub, now, kinds=STANDARD):
    for kind in kinds.scheduled:
        if kind.rule == "interval":
            schedule_kind(session, sub, kind.name, now, kinds=kinds)


def snooze(session, sub, kind, minutes, now, kinds=STANDARD):
    set_due(session, sub, kind, schedule.snooze_until(sub.plan, now, minutes), kinds=kinds)


def queue_test(session, sub, now, kinds=STANDARD):
    set_due(session, sub, "test", now, kinds=kinds)


def delete_subscription(session, sub_id):
    session.execute(delete(Subscription).where(Subscription.id == sub_id))
