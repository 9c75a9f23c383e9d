"""The triage table and the fluid-limited setting: the parts of the clinical
safety work that are plain logic or the API, checked without a browser."""
from datetime import datetime, timedelta, timezone

import pytest

from webapp import content
from webapp.reminders.plan import PlanError, default_plan, validate_plan
from webapp.reminders.schedule import next_due


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# ---------- The triage table ----------

def test_levels_follow_the_guidelines():
    """NHS leg cramps / DVT / statin pages and NICE CKS, as the issue lists them."""
    flags = content.triage()["flags"]
    expected = {
        "breathless": "emergency", "chest-pain": "emergency", "coughing-blood": "emergency",
        "clot-leg": "urgent", "long-cramp": "urgent", "wound-or-toxin": "urgent", "statin": "urgent",
        "sleep": "soon", "numb-weak": "soon", "walking-pain": "soon", "wasting": "soon", "other-medicine": "soon",
    }
    assert {k: f["level"] for k, f in flags.items()} == expected
    statin = flags["statin"]["text"].lower()
    assert "stop the statin" in statin and "straight away" in statin and "dark" in statin
    assert "keep taking it" in flags["other-medicine"]["text"].lower(), "other medicines: never stop without advice"


def test_painful_alone_is_not_a_red_flag():
    triage = content.load("triage")
    for flag in triage["flags"]:
        assert "painful" not in flag["term"].lower(), flag["id"]
    assert "sore" in triage["not_flags"][0]["text"].lower()


def test_check_level_is_its_most_urgent_flag():
    checks = {c["id"]: c for c in content.load("triage")["checks"]}
    assert {k: content.check_level(c) for k, c in checks.items()} == {
        "long": "urgent", "swollen": "urgent", "breath": "emergency", "statin": "urgent"}
    assert content.check_level({"flags": ["sleep", "clot-leg", "chest-pain"]}) == "emergency"


def test_numbers_table_has_the_regions_of_the_issue():
    regions = content.load("emergency_numbers")["regions"]
    assert {k: r["emergency"] for k, r in regions.items()} == {
        "uk": "999", "eu": "112", "us-ca": "911", "au": "000", "nz": "111"}
    assert regions["uk"]["urgent"] == {"number": "111", "name": "NHS 111"}
    assert content.load("emergency_numbers")["fallback"]["emergency"] == "112"
    countries = [c for r in regions.values() for c in r["countries"]]
    assert len(countries) == len(set(countries)), "a country in two regions"


# ---------- "My doctor limits how much I drink" ----------

def test_fluid_limited_is_optional_and_defaults_to_false():
    plan = default_plan("Europe/London")
    del plan["hydration"]["fluid_limited"]  # a plan from a client that predates the setting
    assert validate_plan(plan)["hydration"]["fluid_limited"] is False
    plan["hydration"]["fluid_limited"] = True
    assert validate_plan(plan)["hydration"]["fluid_limited"] is True


@pytest.mark.parametrize("value", ["yes", 1, None, []])
def test_fluid_limited_must_be_a_boolean(value):
    plan = default_plan()
    plan["hydration"]["fluid_limited"] = value
    with pytest.raises(PlanError) as error:
        validate_plan(plan)
    assert error.value.field == "hydration.fluid_limited"


def test_no_water_reminder_is_ever_due_while_fluid_limited():
    plan = default_plan("Europe/Berlin")
    start = datetime(2026, 3, 2, 6, tzinfo=timezone.utc)
    assert next_due(validate_plan(plan), "hydration", start) is not None
    plan["hydration"]["fluid_limited"] = True
    limited = validate_plan(plan)
    for hours in range(0, 24 * 9, 5):
        assert next_due(limited, "hydration", start + timedelta(hours=hours)) is None
    assert next_due(limited, "stretch", start) is not None, "stretch reminders go on"


def test_a_stored_plan_without_the_setting_still_schedules():
    plan = default_plan("Europe/Berlin")
    del plan["hydration"]["fluid_limited"]
    assert next_due(plan, "hydration", datetime(2026, 3, 2, 6, tzinfo=timezone.utc)) is not None


def test_server_plan_says_fluid_limited_and_nothing_is_due(subscribe):
    _, token = subscribe("Europe/Berlin")
    client = subscribe.client
    plan = client.get("/api/reminders", headers=bearer(token)).json
    assert plan["hydration"]["fluid_limited"] is False and plan["next"]["hydration"]
    plan = {k: v for k, v in plan.items() if k != "next"}
    plan["hydration"]["fluid_limited"] = True
    stored = client.put("/api/reminders", json=plan, headers=bearer(token))
    assert stored.status_code == 200, stored.json
    again = client.get("/api/reminders", headers=bearer(token)).json
    assert again["hydration"]["fluid_limited"] is True
    assert again["next"]["hydration"] is None and again["next"]["stretch"]
    bad = dict(plan, hydration=dict(plan["hydration"], fluid_limited="sometimes"))
    refused = client.put("/api/reminders", json=bad, headers=bearer(token))
    assert refused.status_code == 400 and refused.json["error"]
    assert client.get("/api/reminders", headers=bearer(token)).json == again, "a refused plan changes nothing"


def test_openapi_documents_the_setting(client):
    hydration = client.get("/api/openapi.json").json["components"]["schemas"]["Plan"]["properties"]["hydration"]
    assert hydration["properties"]["fluid_limited"]["type"] == "boolean"
    assert "fluid_limited" not in hydration["required"], "additive: old clients stay valid"
