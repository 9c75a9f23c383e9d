"""A reminder kind is defined once: a test app adds "walk" through
REMINDER_KINDS alone (one entry plus its words) and the plan, the schedule,
a dispatch pass, the push payload and the OpenAPI document all know it;
an app without it in the same process does not."""
from datetime import datetime, timedelta, timezone

import pytest

from sqlalchemy import select

from tests.seed import add_due
from webapp.jobs import dispatch
from webapp.push.channel import channel
from webapp.store.db import database
from webapp.store.models import DueReminder
from webapp.reminders.kinds import KINDS, Action, Kind, Registry, registry

UTC = timezone.utc
# Words for the test only: no health claim in them.
WALK = Kind("walk", "Time for a short walk", "/reminders?act=walk", "Next walk reminder",
            ("Walk tip one.", "Walk tip two."), urgency="low", rule="times", noun="walk",
            plan={"enabled": True, "at": ["16:00"]},
            actions=(Action("go", "Walk now", open="/reminders?act=walk"),))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def walk_app(make_app, push_service):
    return make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, REMINDER_KINDS=(*KINDS, WALK))


def subscribe(app, push_service, zone="Europe/Berlin"):
    client = app.test_client()
    key = client.get("/api/push/public-key").json["publicKey"]
    sub = push_service.make_subscription(application_server_key=key)
    response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": zone})
    assert response.status_code == 201, response.json
    return client, bearer(response.json["token"])


def test_a_kind_added_by_config_is_planned_scheduled_and_documented(walk_app, push_service, clock):
    client, auth = subscribe(walk_app, push_service)  # 12:00 UTC is 13:00 in Berlin
    plan = client.get("/api/reminders", headers=auth).json
    assert plan["walk"] == {"enabled": True, "at": ["16:00"]}  # its section of the default plan
    assert datetime.fromisoformat(plan["next"]["walk"]) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    del plan["next"]
    plan["walk"]["at"] = ["14:30", "14:30"]
    refused = client.put("/api/reminders", json=plan, headers=auth)
    assert refused.status_code == 400
    assert refused.json == {"error": "invalid_plan", "message": "walk.at: Each walk time may appear only once."}
    plan["walk"]["at"] = ["14:30"]
    stored = client.put("/api/reminders", json=plan, headers=auth)
    assert stored.status_code == 200, stored.json
    assert datetime.fromisoformat(stored.json["next"]["walk"]) == datetime(2026, 3, 2, 13, 30, tzinfo=UTC)

    snoozed = client.post("/api/reminders/snooze", json={"kind": "walk", "minutes": 30}, headers=auth)
    assert snoozed.status_code == 200
    assert datetime.fromisoformat(snoozed.json["next"]["walk"]) == clock() + timedelta(minutes=30)

    doc = client.get("/api/openapi.json").json
    schemas = doc["components"]["schemas"]
    assert schemas["Plan"]["properties"]["walk"]["properties"]["at"]["maxItems"] == 8
    assert "walk" in schemas["Plan"]["required"] and "walk" in schemas["Next"]["required"]
    snooze = doc["paths"]["/api/reminders/snooze"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert snooze["properties"]["kind"]["enum"] == ["hydration", "stretch", "walk"]


def test_a_kind_added_by_config_is_sent_with_its_words(walk_app, push_service, clock):
    client, auth = subscribe(walk_app, push_service)
    plan = client.get("/api/reminders", headers=auth).json
    del plan["next"]
    plan["walk"]["at"] = ["14:30"]
    plan["hydration"]["enabled"] = False  # the walk alone is due at 13:30 UTC
    assert client.put("/api/reminders", json=plan, headers=auth).status_code == 200

    clock.set(datetime(2026, 3, 2, 13, 30, 1, tzinfo=UTC))
    with walk_app.app_context():
        assert dispatch.run_pass(walk_app) == {"ok": 1}
    [message] = push_service.wait_for(1)
    assert message.payload == {"kind": "walk", "title": "Time for a short walk", "body": "Walk tip one.",
                               "url": "/reminders?act=walk", "tag": "walk"}
    assert message.headers["urgency"] == "low" and message.headers["topic"] == "unknot-walk"
    after = client.get("/api/reminders", headers=auth).json["next"]
    assert datetime.fromisoformat(after["walk"]) == datetime(2026, 3, 3, 13, 30, tzinfo=UTC)


def test_the_worker_gets_the_kind_in_the_shape_it_reads(walk_app):
    walk = registry(walk_app).client()["walk"]
    assert walk == {"title": "Time for a short walk", "url": "/reminders?act=walk", "label": "Next walk reminder",
                    "actions": [{"action": "go", "title": "Walk now", "open": "/reminders?act=walk"}]}


def test_an_app_without_the_kind_knows_nothing_of_it(walk_app, make_app, push_service):
    plain = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    client, auth = subscribe(plain, push_service)
    plan = client.get("/api/reminders", headers=auth).json
    assert "walk" not in plan and "walk" not in plan["next"]
    del plan["next"]
    refused = client.put("/api/reminders", json={**plan, "walk": WALK.plan}, headers=auth)
    assert refused.json == {"error": "invalid_plan", "message": "walk: Unknown setting “walk”."}
    refused = client.post("/api/reminders/snooze", json={"kind": "walk", "minutes": 30}, headers=auth)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_kind"
    assert "walk" not in client.get("/api/openapi.json").json["components"]["schemas"]["Plan"]["properties"]
    assert "walk" in walk_app.test_client().get("/api/openapi.json").json["components"]["schemas"]["Plan"]["properties"]


def test_rows_of_a_kind_the_app_no_longer_knows_are_dropped_and_the_rest_goes_out(make_app, push_service, clock):
    """A kind taken out of the registry while its rows remain: those rows end,
    and the batch they share with others is sent and written as usual (once)."""
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)
    key = channel(app).public_key
    due = clock() - timedelta(seconds=1)
    with database(app).begin() as session:
        add_due(session, [push_service.make_subscription(application_server_key=key)], due, kind="walk")
        [kept] = add_due(session, [push_service.make_subscription(application_server_key=key)], due)
    assert dispatch.run_pass(app) == {"drop": 1, "ok": 1}
    assert len(push_service.wait_for(1)) == 1
    with database(app).begin() as session:
        rows = {(r.subscription_id, r.kind): r for r in session.scalars(select(DueReminder))}
    assert [k for _, k in rows] == ["hydration"] and rows[(kept, "hydration")].due_at > due
    assert dispatch.run_pass(app) == {}  # nothing left claimed or due: no poisoned batch sent again


def test_a_plan_stored_under_other_kinds_can_be_read_and_sent_back_whole(walk_app, make_app, push_service):
    """One database, two registries (a kind added, then taken out): each app
    shows the plan as its kinds read it, and that plan saves as it is."""
    plain = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)  # same database as walk_app
    client, auth = subscribe(plain, push_service)  # stored without a walk section
    as_walk_app = walk_app.test_client().get("/api/reminders", headers=auth).json
    assert as_walk_app["walk"] == {**WALK.plan, "enabled": False} and as_walk_app["next"]["walk"] is None
    del as_walk_app["next"]
    as_walk_app["walk"]["enabled"] = True
    saved = walk_app.test_client().put("/api/reminders", json=as_walk_app, headers=auth)
    assert saved.status_code == 200 and saved.json["walk"]["enabled"] and saved.json["next"]["walk"]
    as_plain_app = client.get("/api/reminders", headers=auth).json  # stored with a walk section now
    assert "walk" not in as_plain_app
    del as_plain_app["next"]
    assert client.put("/api/reminders", json=as_plain_app, headers=auth).status_code == 200


def test_kinds_must_have_distinct_names():
    with pytest.raises(ValueError):
        Registry((*KINDS, KINDS[0]))
