"""Reminders end to end: API → schedule → dispatch → a loopback push
service that verifies VAPID and decrypts every message."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from tests.pushservice import PushService
from webapp.jobs import dispatch
from webapp.store.db import db
from webapp.store.models import Delivery, Subscription

UTC = timezone.utc


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def run(app):
    with app.app_context():
        return dispatch.run_pass(app)


def plan_of(client, token):
    plan = client.get("/api/reminders", headers=bearer(token)).json
    plan.pop("next")
    return plan


def test_due_reminder_arrives_verified_at_its_time(subscribe, push_app, push_service, clock):
    # 2026-03-02 12:00 UTC is 13:00 in Berlin: the next water slot is 14:00 local.
    sub, token = subscribe("Europe/Berlin")
    nxt = subscribe.client.get("/api/reminders", headers=bearer(token)).json["next"]
    assert datetime.fromisoformat(nxt["hydration"]) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert datetime.fromisoformat(nxt["stretch"]) == datetime(2026, 3, 2, 20, 30, tzinfo=UTC)

    assert run(push_app) == {}
    assert push_service.messages == []

    clock.set(datetime(2026, 3, 2, 13, 0, 1, tzinfo=UTC))
    assert run(push_app)["ok"] == 1
    [message] = push_service.wait_for(1)
    assert message.payload["kind"] == "hydration"
    assert message.payload["url"].startswith("/") and not message.payload["url"].startswith("//")
    assert message.payload["body"] and message.payload["title"] and message.payload["tag"]
    ttl = int(message.headers["ttl"])
    assert 60 <= ttl <= 2 * 3600
    assert message.headers["urgency"] == "normal"
    assert message.headers["topic"]
    assert push_service.rejections == []
    nxt = subscribe.client.get("/api/reminders", headers=bearer(token)).json["next"]
    assert datetime.fromisoformat(nxt["hydration"]) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_tips_rotate_never_the_same_twice_in_a_row(subscribe, push_app, push_service, clock):
    subscribe("Europe/Berlin")
    bodies = []
    for hour in (13, 15, 17, 19):
        clock.set(datetime(2026, 3, 2, hour, 0, 1, tzinfo=UTC))
        run(push_app)
    bodies = [m.payload["body"] for m in push_service.wait_for(4)]
    assert all(a != b for a, b in zip(bodies, bodies[1:]))


def test_two_push_services_each_get_their_own_audience(make_app, clock):
    with PushService() as one, PushService() as two:
        app = make_app(PUSH_ALLOWED_ORIGINS=f"{one.origin},{two.origin}")
        client = app.test_client()
        key = client.get("/api/push/public-key").json["publicKey"]
        for service in (one, two):
            sub = service.make_subscription(application_server_key=key)
            assert client.post("/api/subscriptions",
                               json={"subscription": sub, "timezone": "UTC"}).status_code == 201
        clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC))
        assert run(app)["ok"] == 2
        for service in (one, two):
            [message] = service.wait_for(1)
            assert message.claims["aud"] == service.origin
            assert service.rejections == []


def test_gone_removes_the_subscription(subscribe, push_app, push_service, clock):
    sub, token = subscribe("UTC")
    push_service.respond(410)
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC))
    assert run(push_app)["gone"] == 1
    with push_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert subscribe.client.get("/api/reminders", headers=bearer(token)).status_code == 401


def test_429_is_retried_after_retry_after(subscribe, push_app, push_service, clock):
    subscribe("UTC")
    push_service.respond(429, retry_after=120, times=1)
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC))
    assert run(push_app)["retry"] == 1
    clock.advance(timedelta(seconds=60))
    assert run(push_app) == {}
    clock.advance(timedelta(seconds=61))
    assert run(push_app)["ok"] == 1
    assert push_service.wait_for(1)[0].payload["kind"] == "hydration"


def test_5xx_retries_with_backoff_until_ttl_then_moves_on(subscribe, push_app, push_service, clock):
    subscribe("UTC")
    push_service.respond(503)
    start = datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC)
    for minute in range(0, 240, 5):  # bounded: 14:00 to 17:55 in 5-minute passes
        clock.set(start + timedelta(minutes=minute))
        run(push_app)
    assert push_service.messages == []
    with push_app.app_context():
        tries = db.session.execute(select(Delivery.due_at, Delivery.outcome)).all()
    # Backoff (30 s, 1, 2, 4, 8... min) for the 14:00 and the 16:00 reminder, each
    # kept until the next one is due; never more than one try per pass.
    assert {outcome for _, outcome in tries} == {"retry"}
    assert 8 <= len(tries) <= 48
    push_service.respond(None)
    clock.set(datetime(2026, 3, 2, 18, 0, 1, tzinfo=UTC))
    assert run(push_app)["ok"] == 1
    assert push_service.wait_for(1)[0].payload["kind"] == "hydration"


def test_downtime_sends_one_catch_up_per_kind(subscribe, push_app, push_service, clock):
    subscribe("UTC")
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))  # three hours late: 14:00 and 16:00 missed
    counts = run(push_app)
    assert counts["ok"] == 1
    assert [m.payload["kind"] for m in push_service.wait_for(1)] == ["hydration"]
    assert run(push_app) == {}


def test_400_is_logged_and_rescheduled_without_looping(subscribe, push_app, push_service, clock):
    _, token = subscribe("UTC")
    push_service.respond(400)
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC))
    assert run(push_app)["drop"] == 1
    assert run(push_app) == {}
    nxt = subscribe.client.get("/api/reminders", headers=bearer(token)).json["next"]
    assert datetime.fromisoformat(nxt["hydration"]) == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_nothing_is_sent_in_quiet_hours(subscribe, push_app, push_service, clock):
    _, token = subscribe("America/New_York")
    plan = plan_of(subscribe.client, token)
    plan["hydration"].update({"from": "06:00", "until": "23:59", "every_minutes": 60})
    plan["quiet"] = {"from": "21:00", "until": "08:00"}
    plan["stretch"]["at"] = ["20:30"]
    assert subscribe.client.put("/api/reminders", json=plan, headers=bearer(token)).status_code == 200
    start = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # spans the 8 March DST change
    for minutes in range(0, 60 * 48, 10):  # bounded: two days in 10-minute ticks
        clock.set(start + timedelta(minutes=minutes))
        run(push_app)
    from zoneinfo import ZoneInfo

    messages = push_service.messages
    assert len(messages) > 20
    with push_app.app_context():
        sent = db.session.scalars(select(Delivery.sent_at).where(Delivery.outcome == "ok")).all()
    assert len(sent) == len(messages)
    for moment in sent:
        hour = moment.astimezone(ZoneInfo("America/New_York")).hour
        assert 8 <= hour < 21, moment


def test_glass_goal_stops_hydration_until_tomorrow(subscribe, push_app, clock):
    _, token = subscribe("UTC")
    plan = plan_of(subscribe.client, token)
    plan["hydration"]["goal_glasses"] = 2
    subscribe.client.put("/api/reminders", json=plan, headers=bearer(token))
    first = subscribe.client.post("/api/log", json={"kind": "water"}, headers=bearer(token))
    assert first.status_code == 201 and first.json["today"] == 1
    assert first.json["next"]["hydration"].startswith("2026-03-02T14:00")
    second = subscribe.client.post("/api/log", json={"kind": "water"}, headers=bearer(token))
    assert second.json["today"] == 2
    assert second.json["next"]["hydration"].startswith("2026-03-03T08:00")


def test_snooze_moves_the_next_reminder(subscribe, clock):
    _, token = subscribe("UTC")
    response = subscribe.client.post("/api/reminders/snooze", json={"kind": "hydration", "minutes": 30},
                                     headers=bearer(token))
    assert response.status_code == 200
    assert response.json["next"]["hydration"].startswith("2026-03-02T12:30")


def test_test_push_goes_out_on_the_next_pass(subscribe, push_app, push_service):
    _, token = subscribe("UTC")
    assert subscribe.client.post("/api/reminders/test", headers=bearer(token)).status_code == 202
    assert run(push_app)["ok"] == 1
    [message] = push_service.wait_for(1)
    assert message.payload["kind"] == "test"
    assert message.headers["urgency"] == "high"
    assert run(push_app) == {}


def test_unsubscribed_device_gets_nothing(subscribe, push_app, push_service, clock):
    _, token = subscribe("UTC")
    assert subscribe.client.delete("/api/subscriptions/current", headers=bearer(token)).status_code == 204
    clock.set(datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    assert run(push_app) == {}
    assert push_service.hits == 0


def test_dispatch_command_prints_counts(subscribe, push_app, clock):
    subscribe("UTC")
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC))
    result = push_app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0
    assert "ok=1" in result.output
