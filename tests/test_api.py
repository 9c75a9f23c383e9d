"""The JSON API through Flask's test client: contract, validation, isolation."""
import copy

import pytest
from sqlalchemy import func, select

from webapp.store.db import db
from webapp.store.models import DueReminder, Subscription


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Subscription)),
                db.session.scalar(select(func.count()).select_from(DueReminder)))


def test_public_key_is_a_p256_point(client):
    import base64

    key = client.get("/api/push/public-key").json["publicKey"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4


def test_subscribe_gets_default_plan_and_next_times(subscribe):
    _, token = subscribe("Europe/Berlin")
    plan = subscribe.client.get("/api/reminders", headers=bearer(token)).json
    assert plan["timezone"] == "Europe/Berlin"
    assert plan["hydration"] == {"enabled": True, "every_minutes": 120, "from": "08:00",
                                 "until": "20:00", "goal_glasses": 8, "fluid_limited": False}
    assert plan["stretch"] == {"enabled": True, "at": ["21:30"]}
    assert plan["quiet"] == {"from": "22:00", "until": "07:00"}
    assert plan["next"]["hydration"] and plan["next"]["stretch"]


def test_known_endpoint_gets_a_new_token(subscribe, push_app):
    sub, token = subscribe()
    again = subscribe.client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"})
    assert again.status_code == 200
    assert again.json["token"] != token
    assert subscribe.client.get("/api/reminders", headers=bearer(token)).status_code == 401
    assert subscribe.client.get("/api/reminders", headers=bearer(again.json["token"])).status_code == 200
    assert counts(push_app)[0] == 1


def test_put_plan_round_trips(subscribe):
    _, token = subscribe()
    plan = subscribe.client.get("/api/reminders", headers=bearer(token)).json
    del plan["next"]
    plan["hydration"]["every_minutes"] = 60
    plan["stretch"]["at"] = ["21:00", "07:30"]
    response = subscribe.client.put("/api/reminders", json=plan, headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["hydration"]["every_minutes"] == 60
    assert response.json["stretch"]["at"] == ["07:30", "21:00"]


BAD_PLANS = [
    ("timezone", lambda p: p.update(timezone="Mars/Olympus")),
    ("every_minutes", lambda p: p["hydration"].update(every_minutes=5)),
    ("every_minutes", lambda p: p["hydration"].update(every_minutes="120")),
    ("from", lambda p: p["hydration"].update({"from": "25:00"})),
    ("goal_glasses", lambda p: p["hydration"].update(goal_glasses=31)),
    ("enabled", lambda p: p["stretch"].update(enabled="yes")),
    ("quiet", lambda p: p.pop("quiet")),
    ("extra", lambda p: p.update(extra=1)),
]


@pytest.mark.parametrize("field,spoil", BAD_PLANS, ids=[f"{i}-{b[0]}" for i, b in enumerate(BAD_PLANS)])
def test_bad_plan_is_400_and_changes_nothing(subscribe, field, spoil):
    _, token = subscribe()
    before = subscribe.client.get("/api/reminders", headers=bearer(token)).json
    plan = copy.deepcopy(before)
    del plan["next"]
    spoil(plan)
    response = subscribe.client.put("/api/reminders", json=plan, headers=bearer(token))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_plan" and response.json["message"]
    assert subscribe.client.get("/api/reminders", headers=bearer(token)).json == before


def test_body_must_be_json(subscribe):
    _, token = subscribe()
    response = subscribe.client.put("/api/reminders", data="x", headers=bearer(token))
    assert response.status_code == 415 and response.json["error"]
    response = subscribe.client.put("/api/reminders", data="{", headers={**bearer(token), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["error"] == "invalid_json"


def test_body_too_large_is_413_json(subscribe):
    _, token = subscribe()
    response = subscribe.client.put("/api/reminders", data="[" + "1," * 20000 + "1]",
                                    headers={**bearer(token), "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json["error"]


def test_bad_subscriptions_are_refused(push_app, push_service):
    client = push_app.test_client()
    good = push_service.make_subscription()

    def variant(**change):
        sub = copy.deepcopy(good)
        for key, value in change.items():
            if key in ("p256dh", "auth"):
                sub["keys"][key] = value
            else:
                sub[key] = value
        return sub

    bad = [
        variant(endpoint="https://evil.example/push"),
        variant(endpoint="http://10.0.0.1/push"),
        variant(endpoint="ftp://x"),
        variant(endpoint=None),
        variant(p256dh="AAAA"),
        variant(p256dh="BA" + "A" * 85),  # 65 bytes, not on the curve
        variant(auth="AAAA"),
        variant(auth=None),
        {"endpoint": good["endpoint"]},
        "not an object",
    ]
    for sub in bad:
        response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"})
        assert response.status_code == 400, sub
        assert set(response.json) == {"error", "message"}
    response = client.post("/api/subscriptions", json={"subscription": good, "timezone": "Nowhere/City"})
    assert response.status_code == 400
    assert counts(push_app) == (0, 0)


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/reminders", None),
    ("put", "/api/reminders", {}),
    ("post", "/api/reminders/test", None),
    ("post", "/api/log", {"kind": "water"}),
    ("post", "/api/reminders/snooze", {"kind": "hydration", "minutes": 30}),
    ("delete", "/api/subscriptions/current", None),
])
@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer wrong", "Basic abc"])
def test_wrong_or_missing_token_is_401(client, method, path, body, auth):
    headers = {"Authorization": auth} if auth else {}
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_one_device_cannot_touch_another(subscribe, push_app):
    _, mine = subscribe("Europe/Berlin")
    _, theirs = subscribe("Asia/Tokyo")
    assert subscribe.client.get("/api/reminders", headers=bearer(mine)).json["timezone"] == "Europe/Berlin"
    assert subscribe.client.delete("/api/subscriptions/current", headers=bearer(mine)).status_code == 204
    assert subscribe.client.get("/api/reminders", headers=bearer(theirs)).json["timezone"] == "Asia/Tokyo"
    assert subscribe.client.get("/api/reminders", headers=bearer(mine)).status_code == 401


def test_snooze_validation(subscribe):
    _, token = subscribe()
    for body in ({"kind": "water", "minutes": 30}, {"kind": "hydration", "minutes": 4},
                 {"kind": "hydration", "minutes": 241}, {"kind": "hydration", "minutes": 30.5},
                 {"kind": "hydration"}, {"kind": "hydration", "minutes": 30, "x": 1}):
        response = subscribe.client.post("/api/reminders/snooze", json=body, headers=bearer(token))
        assert response.status_code == 400, body


def test_log_validation(subscribe):
    _, token = subscribe()
    for body in ({"kind": "coffee"}, {}, {"kind": "water", "n": 2}):
        assert subscribe.client.post("/api/log", json=body, headers=bearer(token)).status_code == 400


def test_api_errors_are_json(client):
    assert client.get("/api/nope").json["error"] == "not_found"
    response = client.delete("/api/push/public-key")
    assert response.status_code == 405 and response.json["error"]


def test_openapi_names_every_api_route(app, client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served


def test_known_endpoint_with_other_keys_is_409_and_changes_nothing(subscribe, push_app, push_service):
    """Knowing a device's endpoint is not owning it: without its keys, no token."""
    victim, token = subscribe()
    with push_app.app_context():
        before = db.session.execute(select(Subscription.p256dh, Subscription.auth, Subscription.token_hash)).all()
    spellings = [victim["endpoint"], victim["endpoint"].replace("http://", "HTTP://")]
    mine = push_service.make_subscription()["keys"]
    for endpoint, keys in [(e, k) for e in spellings for k in (
            mine, {**victim["keys"], "auth": mine["auth"]}, {**victim["keys"], "p256dh": mine["p256dh"]})]:
        response = subscribe.client.post("/api/subscriptions", json={
            "subscription": {"endpoint": endpoint, "keys": keys}, "timezone": "UTC"})
        assert response.status_code == 409, (endpoint, keys)
        assert response.json["error"] == "subscription_exists" and "token" not in response.json
    with push_app.app_context():
        after = db.session.execute(select(Subscription.p256dh, Subscription.auth, Subscription.token_hash)).all()
    assert after == before
    plan = subscribe.client.get("/api/reminders", headers=bearer(token))
    assert plan.status_code == 200 and plan.json["timezone"] == "Europe/Berlin"
    documented = subscribe.client.get("/api/openapi.json").json["paths"]["/api/subscriptions"]["post"]
    assert "subscription_exists" in documented["responses"]["409"]["description"]


def _keys_with_url_safe_letters(push_service):
    """Keys whose base64url uses '-' or '_' in both (bounded search)."""
    for _ in range(200):
        sub = push_service.make_subscription()
        if all(set(value) & set("-_") for value in sub["keys"].values()):
            return sub
    raise AssertionError("no keys with '-' or '_' in 200 tries")


def test_undeliverable_subscriptions_are_refused(push_app, push_service):
    """What the sender would always drop is refused at subscribe time."""
    client = push_app.test_client()
    good = _keys_with_url_safe_letters(push_service)
    plus = {k: v.replace("-", "+").replace("_", "/") for k, v in good["keys"].items()}
    cases = [
        ({**good, "endpoint": good["endpoint"] + "caf\u00e9"}, "endpoint_not_allowed"),
        ({**good, "endpoint": good["endpoint"] + "\x7f"}, "endpoint_not_allowed"),
        ({**good, "endpoint": good["endpoint"] + "\u00a0x"}, "endpoint_not_allowed"),
        ({**good, "keys": {**good["keys"], "p256dh": plus["p256dh"]}}, "invalid_subscription"),
        ({**good, "keys": {**good["keys"], "auth": plus["auth"]}}, "invalid_subscription"),
        ({**good, "keys": {**good["keys"], "auth": good["keys"]["auth"] + "A"}}, "invalid_subscription"),
        ({**good, "keys": {**good["keys"], "p256dh": "Aw" + good["keys"]["p256dh"][2:44]}}, "invalid_subscription"),
    ]
    for sub, code in cases:
        response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"})
        assert response.status_code == 400, sub
        assert response.json["error"] == code and response.json["message"], sub
    assert counts(push_app) == (0, 0)
    assert client.post("/api/subscriptions", json={"subscription": good, "timezone": "UTC"}).status_code == 201


@pytest.mark.parametrize("path,auth", [("/api/subscriptions", False), ("/api/reminders", True)])
def test_deeply_nested_json_is_400_invalid_json(subscribe, path, auth, caplog):
    _, token = subscribe()
    headers = {"Content-Type": "application/json", **(bearer(token) if auth else {})}
    send = subscribe.client.post if path == "/api/subscriptions" else subscribe.client.put
    for depth in (33, 1000, 8000):
        response = send(path, data="[" * depth + "]" * depth, headers=headers)
        assert response.status_code == 400, depth
        assert response.json["error"] == "invalid_json"
    assert "Traceback" not in caplog.text and "unhandled" not in caplog.text
    # 32 levels still parse: the unknown field is what is refused then.
    nested = '{"subscription": {}, "x": ' + "[" * 31 + "]" * 31 + "}"
    response = subscribe.client.post("/api/subscriptions", data=nested, headers=headers)
    assert response.status_code == 400 and response.json["error"] == "invalid_body"


def test_reading_the_plan_is_limited_per_address(subscribe):
    _, token = subscribe()
    statuses = [subscribe.client.get("/api/reminders", headers=bearer(token)).status_code for _ in range(61)]
    assert statuses[:59] == [200] * 59  # the subscribe call counted too
    assert statuses[-1] == 429


def test_request_bodies_are_checked_with_the_schemas_the_document_shows(app, client):
    from webapp.reminders.kinds import registry
    from webapp.reminders.plan import plan_schema
    from webapp.web.schemas import checkers

    doc = client.get("/api/openapi.json").json
    kinds = registry(app)

    def body(path, method):
        return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]

    assert body("/api/reminders", "put") == {"$ref": "#/components/schemas/Plan"}
    assert doc["components"]["schemas"]["Plan"] == plan_schema(kinds)
    for path, operation in [("/api/subscriptions", "subscribe"), ("/api/reminders/snooze", "snooze"),
                            ("/api/log", "log")]:
        assert body(path, "post") == checkers(kinds)[operation].schema, path


@pytest.mark.parametrize("path,body,code,message", [
    ("/api/reminders/snooze", {"kind": "water", "minutes": 30}, "invalid_kind",
     "kind must be 'hydration' or 'stretch'."),
    ("/api/reminders/snooze", {"kind": "stretch", "minutes": 30.0}, "invalid_minutes",
     "minutes must be a whole number from 5 to 240."),
    ("/api/reminders/snooze", {"kind": "stretch", "minutes": 30, "x": 1}, "invalid_body",
     "Send only kind, minutes and, for a delayed tap, at."),
    ("/api/reminders/snooze", {"kind": "stretch", "minutes": 30, "at": 5}, "invalid_at",
     "at must be the time of the tap: ISO-8601 with a time zone, within the last 7 days."),
    ("/api/log", {"kind": "water", "n": 2}, "invalid_kind", 'Send {"kind": "water"}, with "at" for a delayed tap.'),
])
def test_refused_bodies_say_what_to_send(subscribe, path, body, code, message):
    _, token = subscribe()
    response = subscribe.client.post(path, json=body, headers=bearer(token))
    assert response.status_code == 400
    assert response.json == {"error": code, "message": message}


def test_a_subscription_with_an_unknown_field_or_zone_says_which(push_app, push_service):
    client = push_app.test_client()
    sub = push_service.make_subscription()
    response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC", "tz": "UTC"})
    assert response.json == {"error": "invalid_body", "message": "Unknown field “tz”."}
    response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": 1})
    assert response.json == {"error": "invalid_plan",
                             "message": "timezone: Choose a time zone from the list, such as Europe/Berlin."}
    response = client.post("/api/subscriptions", json={"subscription": {**sub, "keys": {"auth": "x"}},
                                                       "timezone": "UTC"})
    assert response.json == {"error": "invalid_subscription",
                             "message": "subscription.keys must hold p256dh and auth strings."}
