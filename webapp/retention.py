"""What we keep, and for how long: a subscription that has not reached its
device for 60 days is deleted with everything about it; the delivery log and
the water log keep 30 days."""
from datetime import timedelta

from sqlalchemy import delete, or_, select

from .models import Delivery, Subscription, WaterLog

INACTIVE = timedelta(days=60)
LOG_DAYS = timedelta(days=30)


def forget_inactive(session, now):
    """Delete stale subscriptions and old log rows; return the counts."""
    cutoff = now - INACTIVE
    stale = select(Subscription.id).where(
        Subscription.created_at < cutoff,
        or_(Subscription.last_success_at.is_(None), Subscription.last_success_at < cutoff),
    )
    stale_ids = session.scalars(stale).all()
    if stale_ids:
        session.execute(delete(Subscription).where(Subscription.id.in_(stale_ids)))
    old = now - LOG_DAYS
    deliveries = session.execute(delete(Delivery).where(Delivery.sent_at < old)).rowcount
    water = session.execute(delete(WaterLog).where(WaterLog.at < old)).rowcount
    return {"subscriptions": len(stale_ids), "deliveries": deliveries, "water": water}

