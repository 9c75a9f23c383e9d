"""forget-inactive counts a device as reached only when it calls the API
itself: a dead endpoint that keeps answering 201 (as dead Safari
subscriptions do) is forgotten after 60 days like a silent one."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from webapp.jobs import dispatch, scheduler
from webapp.store.db import db
from webapp.store.models import Subscription

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC)


def forget(app, clock):
    return scheduler.forget(app)


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


def test_migration_0004_keeps_every_reminder_and_marks_existing_subscriptions_seen(storage, tmp_path):
    """Upgrading a database with data from 0003: nothing is lost (on SQLite a
    batch migration recreates the subscriptions table; with foreign keys on,
    its DROP TABLE would cascade to every reminder and water log)."""
    from alembic import command
    from sqlalchemy import text

    from webapp import create_app
    from webapp.store.db import make_engine
    from webapp.store.migrate import alembic_config

    engine = make_engine(storage.url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0003")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO subscriptions (id, endpoint, p256dh, auth, token_hash, plan, created_at, "
                "last_success_at) VALUES ('s1', 'https://fcm.googleapis.com/fcm/send/x', 'p', 'a', 'h', "
                "'{}', :t, :t)"), {"t": datetime(2026, 1, 1)})
            conn.execute(text("INSERT INTO due_reminders (subscription_id, kind, due_at, occurrence, attempts) "
                              "VALUES ('s1', 'hydration', :t, 0, 0)"), {"t": datetime(2026, 1, 2)})
            conn.execute(text("INSERT INTO water_log (subscription_id, at, local_date) "
                              "VALUES ('s1', :t, '2026-01-01')"), {"t": datetime(2026, 1, 1)})
    finally:
        engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": storage.url, "SCHEDULER": "off",
                      "VAPID_PRIVATE_KEY": str(tmp_path / "vapid.pem")})
    try:
        with app.app_context():
            counts = [db.session.scalar(text(f"SELECT count(*) FROM {t}"))
                      for t in ("subscriptions", "due_reminders", "water_log")]
            seen = db.session.scalar(select(Subscription.last_seen_at))
        assert counts == [1, 1, 1]
        assert seen is not None and seen > datetime(2026, 1, 1, tzinfo=UTC)  # the upgrade's own time
    finally:
        app.extensions["unknot_db"].engine.dispose()
