"""What we keep, and for how long: a subscription whose device has not been
heard from for UNKNOT_FORGET_AFTER_DAYS (60) is deleted with everything about
it; the delivery log and the water log keep UNKNOT_KEEP_LOGS_DAYS (30).

"Heard from" is the device itself calling the API with the subscription's
token (``Subscription.last_seen_at``: subscribing, opening the reminder
settings, a notification's "drank"/"snooze" action), never the push
service's 201: a dead Safari subscription can keep answering 201 for months."""
from datetime import timedelta

from sqlalchemy import delete, func, select

from webapp.store.models import Delivery, Subscription, WaterLog

def forget_inactive(session, now, *, inactive: timedelta, keep_logs: timedelta):
    """Delete stale subscriptions and old log rows; return the counts."""
    cutoff = now - inactive
    stale = select(Subscription.id).where(
        func.coalesce(Subscription.last_seen_at, Subscription.created_at) < cutoff)
    stale_ids = session.scalars(stale).all()
    if stale_ids:
        session.execute(delete(Subscription).where(Subscription.id.in_(stale_ids)))
    old = now - keep_logs
    deliveries = session.execute(delete(Delivery).where(Delivery.sent_at < old)).rowcount
    water = session.execute(delete(WaterLog).where(WaterLog.at < old)).rowcount
    return {"subscriptions": len(stale_ids), "deliveries": deliveries, "water": water}

