"""forget-inactive counts a device as reached only when it calls the API
itself: a dead endpoint that keeps answering 201 (as dead Safari
subscriptions do) is forgotten after 60 days like a silent one."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from webapp import dispatch, retention
from webapp.db import db
from webapp.models import Subscription

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC)


def forget(app, clock):
    with app.app_context(), db.begin() as session:
        return retention.forget_inactive(session, clock())


def remaining(app):
    with app.app_context():
        return set(db.session.scalars(select(Subscription.id)))


def ids(app):
    with app.app_context():
        return {s.endpoint: s.id for s in db.session.scalars(select(Subscription))}


def test_a_201_does_not_keep_a_subscription_its_device_never_uses(subscribe, push_app, push_service, clock):
    clock.set(T0)
    dead, _ = subscribe("UTC")  # the push service keeps saying 201; the phone is long gone
    alive, token = subscribe("UTC")
    by_endpoint = ids(push_app)
    for day in range(0, 61, 10):  # pushes accepted all along
        clock.set(T0 + timedelta(days=day, minutes=1))
        with push_app.app_context():
            dispatch.run_pass(push_app)
    assert push_service.messages, "the service accepted the pushes"
    clock.set(T0 + timedelta(days=40))
    headers = {"Authorization": f"Bearer {token}"}
    assert subscribe.client.get("/api/reminders", headers=headers).status_code == 200  # the app opened
    clock.set(T0 + timedelta(days=61))
    assert forget(push_app, clock)["subscriptions"] == 1
    assert remaining(push_app) == {by_endpoint[alive["endpoint"]]}
    clock.set(T0 + timedelta(days=101))
    assert forget(push_app, clock)["subscriptions"] == 1  # 61 days after it was last seen
    assert remaining(push_app) == set()


def test_a_device_call_is_stamped_at_most_once_an_hour(subscribe, push_app, clock):
    clock.set(T0)
    _, token = subscribe("UTC")
    headers = {"Authorization": f"Bearer {token}"}

    def seen():
        with push_app.app_context():
            return db.session.scalar(select(Subscription.last_seen_at))

    assert seen() == T0  # subscribing counts
    clock.set(T0 + timedelta(minutes=59))
    subscribe.client.get("/api/reminders", headers=headers)
    assert seen() == T0
    clock.set(T0 + timedelta(hours=2))
    subscribe.client.post("/api/log", json={"kind": "water"}, headers=headers)  # a notification's action
    assert seen() == T0 + timedelta(hours=2)
