"""Two apps in one process (the factory's promise): each keeps its own
database, limiter, push channel and sender; nothing is shared."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.seed import add_due
from webapp import create_app
from webapp.jobs import dispatch, senders
from webapp.push.channel import channel
from webapp.store.db import database, db
from webapp.store.models import Subscription


@pytest.fixture
def two_apps(tmp_path, clock, push_service):
    def make(name, **extra):
        return create_app({
            "TESTING": True, "SCHEDULER": "off", "CLOCK": clock,
            "DATABASE_URL": f"sqlite:///{tmp_path}/{name}.sqlite",
            "VAPID_PRIVATE_KEY": str(tmp_path / f"{name}.pem"),
            "VAPID_SUBJECT": f"mailto:{name}@unknot.app",
            "PUSH_ALLOWED_ORIGINS": push_service.origin,
            **extra,
        })

    a = make("a")
    b = make("b", RATELIMIT_ENABLED=False)  # made after a: it must not rebind a's engine
    yield a, b
    for app in (a, b):
        senders.close(app)
        database(app).engine.dispose()


def count_subscriptions(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Subscription))


def subscribe(app, push_service):
    client = app.test_client()
    key = client.get("/api/push/public-key").json["publicKey"]
    sub = push_service.make_subscription(application_server_key=key)
    return client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"})


def test_each_app_keeps_its_own_database(two_apps, push_service):
    a, b = two_apps
    with a.app_context():
        assert db.engine.url.database.endswith("a.sqlite")
    with b.app_context():
        assert db.engine.url.database.endswith("b.sqlite")
    response = subscribe(a, push_service)
    assert response.status_code == 201
    assert (count_subscriptions(a), count_subscriptions(b)) == (1, 0)
    token = response.json["token"]
    # a's token means nothing to b: b never saw that subscription.
    assert b.test_client().get("/api/reminders", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert a.test_client().get("/api/reminders", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_each_app_keeps_its_own_limits(two_apps, push_service):
    a, b = two_apps
    statuses = [subscribe(a, push_service).status_code for _ in range(21)]
    assert statuses[:20] == [201] * 20 and statuses[20] == 429  # a: 20 a minute from one address
    assert subscribe(b, push_service).status_code == 201  # b counts on its own (and has no limits)
    assert all(subscribe(b, push_service).status_code == 201 for _ in range(25))
    assert subscribe(a, push_service).status_code == 429  # and b's calls did not reset a's count


def test_each_app_keeps_its_own_push_channel_and_sender(two_apps, push_service, clock):
    a, b = two_apps
    assert channel(a).public_key != channel(b).public_key  # each its own VAPID key
    assert senders.sender(a) is not senders.sender(b)
    assert senders.sender(a) is senders.sender(a)
    # A pass of b sends b's due reminders only, signed with b's key.
    key = channel(b).public_key
    with database(b).begin() as session:
        add_due(session, [push_service.make_subscription(application_server_key=key)], clock() - timedelta(seconds=1))
    assert dispatch.run_pass(a) == {}
    assert dispatch.run_pass(b) == {"ok": 1}
    [message] = push_service.wait_for(1)
    assert message.claims["sub"] == "mailto:b@unknot.app"
