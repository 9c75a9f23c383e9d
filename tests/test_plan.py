"""webapp.plan: the default plan and validation of untrusted plans."""
import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.reminders.plan import DEFAULT_PLAN, PlanError, available_zones, default_plan, validate_plan
from webapp.reminders.times import parse_hhmm


def plan(**changes):
    """A valid plan (Berlin) with dotted-path changes; value DELETE removes."""
    p = default_plan("Europe/Berlin")
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = p
        for name in parents:
            target = target[name]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return p


DELETE = object()


def test_default_plan_is_valid_and_as_documented():
    assert validate_plan(DEFAULT_PLAN) == DEFAULT_PLAN
    assert DEFAULT_PLAN == {
        "timezone": "UTC",
        "hydration": {"enabled": True, "every_minutes": 120, "from": "08:00", "until": "20:00",
                      "goal_glasses": 8, "fluid_limited": False},
        "stretch": {"enabled": True, "at": ["21:30"]},
        "quiet": {"from": "22:00", "until": "07:00"},
    }


def test_default_plan_copies_are_independent():
    p = default_plan("Asia/Tokyo")
    p["stretch"]["at"].append("09:00")
    assert p["timezone"] == "Asia/Tokyo"
    assert DEFAULT_PLAN["stretch"]["at"] == ["21:30"] and DEFAULT_PLAN["timezone"] == "UTC"


def test_validate_returns_a_new_canonical_plan():
    data = plan(stretch__at=["21:30", "07:30"], quiet__from="23:00")
    out = validate_plan(data)
    assert out["stretch"]["at"] == ["07:30", "21:30"]  # sorted
    assert data["stretch"]["at"] == ["21:30", "07:30"]  # input untouched
    assert out["stretch"]["at"] is not data["stretch"]["at"]
    assert out["hydration"] is not data["hydration"]
    assert list(out) == ["timezone", "hydration", "stretch", "quiet"]
    assert list(out["hydration"]) == ["enabled", "every_minutes", "from", "until", "goal_glasses", "fluid_limited"]
    assert validate_plan(json.loads(json.dumps(out))) == out


@pytest.mark.parametrize("changes", [
    {"hydration__every_minutes": 15},
    {"hydration__every_minutes": 720},
    {"hydration__goal_glasses": 0},
    {"hydration__goal_glasses": 30},
    {"hydration__from": "22:00", "hydration__until": "02:00"},  # wraps midnight
    {"hydration__from": "00:00", "hydration__until": "23:59"},
    {"quiet__from": "07:00", "quiet__until": "07:00"},  # no quiet hours
    {"quiet__from": "13:00", "quiet__until": "14:00"},
    {"stretch__at": []},
    {"stretch__at": ["07:00"]},  # quiet hours have just ended
    {"stretch__at": ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"],
     "quiet__from": "00:00", "quiet__until": "00:00"},
    {"stretch__enabled": False, "stretch__at": ["23:00"]},  # off: never fires anyway
    {"timezone": "Asia/Kathmandu"},
    {"timezone": "Pacific/Chatham"},
    {"timezone": "UTC"},
])
def test_valid_plans(changes):
    p = plan(**changes)
    out = validate_plan(p)
    assert out["timezone"] == p["timezone"]


@pytest.mark.parametrize("data, field", [
    ([], "plan"),
    ("plan", "plan"),
    (None, "plan"),
    (plan(colour="blue"), "colour"),
    (plan(quiet=DELETE), "quiet"),
    (plan(timezone=DELETE), "timezone"),
    (plan(timezone="Mars/Olympus_Mons"), "timezone"),
    (plan(timezone="europe/berlin"), "timezone"),
    (plan(timezone="localtime"), "timezone"),
    (plan(timezone=""), "timezone"),
    (plan(timezone=1), "timezone"),
    (plan(hydration=[]), "hydration"),
    (plan(stretch=None), "stretch"),
    (plan(quiet="22:00-07:00"), "quiet"),
    (plan(hydration__often=True), "hydration.often"),
    (plan(hydration__goal_glasses=DELETE), "hydration.goal_glasses"),
    (plan(stretch__at=DELETE), "stretch.at"),
    (plan(quiet__until=DELETE), "quiet.until"),
    (plan(quiet__extra=1), "quiet.extra"),
    (plan(hydration__enabled=1), "hydration.enabled"),
    (plan(hydration__enabled="true"), "hydration.enabled"),
    (plan(hydration__enabled=None), "hydration.enabled"),
    (plan(stretch__enabled="yes"), "stretch.enabled"),
    (plan(hydration__every_minutes=14), "hydration.every_minutes"),
    (plan(hydration__every_minutes=721), "hydration.every_minutes"),
    (plan(hydration__every_minutes=120.0), "hydration.every_minutes"),
    (plan(hydration__every_minutes=True), "hydration.every_minutes"),
    (plan(hydration__every_minutes="120"), "hydration.every_minutes"),
    (plan(hydration__goal_glasses=-1), "hydration.goal_glasses"),
    (plan(hydration__goal_glasses=31), "hydration.goal_glasses"),
    (plan(hydration__goal_glasses=8.0), "hydration.goal_glasses"),
    (plan(hydration__goal_glasses=False), "hydration.goal_glasses"),
    (plan(hydration__from="8:00"), "hydration.from"),
    (plan(hydration__from="24:00"), "hydration.from"),
    (plan(hydration__from="08:60"), "hydration.from"),
    (plan(hydration__from="08:00:00"), "hydration.from"),
    (plan(hydration__from=" 08:00"), "hydration.from"),
    (plan(hydration__from="08:00\n"), "hydration.from"),
    (plan(hydration__from="０８:００"), "hydration.from"),  # full-width digits
    (plan(hydration__from=800), "hydration.from"),
    (plan(hydration__until="25:00"), "hydration.until"),
    (plan(hydration__from="09:00", hydration__until="09:00"), "hydration.until"),
    (plan(quiet__from="7"), "quiet.from"),
    (plan(quiet__until=None), "quiet.until"),
    (plan(stretch__at="21:30"), "stretch.at"),
    (plan(stretch__at=["21:30", "21:30"]), "stretch.at"),
    (plan(stretch__at=["%02d:00" % h for h in range(9, 18)]), "stretch.at"),  # 9 times
    (plan(stretch__at=["21:3"]), "stretch.at"),
    (plan(stretch__at=[None]), "stretch.at"),
    (plan(stretch__at=[["21:30"]]), "stretch.at"),
    (plan(stretch__at=["23:00"]), "stretch.at"),  # inside quiet 22:00-07:00
    (plan(stretch__at=["22:00"]), "stretch.at"),  # quiet starts at 22:00
    (plan(stretch__at=["06:59"]), "stretch.at"),
    (plan(stretch__at=["13:30"], quiet__from="13:00", quiet__until="14:00"), "stretch.at"),
])
def test_each_bad_field_names_itself(data, field):
    with pytest.raises(PlanError) as info:
        validate_plan(data)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert info.value.message and info.value.message[0].isupper() and info.value.message.endswith(".")


@pytest.mark.parametrize("data, message", [
    ([], "The plan must be a JSON object."),
    (plan(hydration=[]), "The setting “hydration” must be a JSON object."),
    (plan(colour="blue"), "Unknown setting “colour”."),
    (plan(hydration__goal_glasses=DELETE), "The setting “hydration.goal_glasses” is missing."),
    (plan(hydration__enabled=1), "The setting “hydration.enabled” must be true or false."),
    (plan(hydration__every_minutes=120.0), "The setting “hydration.every_minutes” must be a whole number."),
    (plan(hydration__every_minutes=721), "Water reminders can come every 15 to 720 minutes."),
    (plan(hydration__goal_glasses=-1), "The daily goal is 0 to 30 glasses (0 means no goal)."),
    (plan(hydration__from="09:00", hydration__until="09:00"),
     "Water reminders need a window: make the end differ from the start."),
    (plan(quiet__until=None), "Times are written as HH:MM, from 00:00 to 23:59."),
    (plan(stretch__at="21:30"), "Stretch times must be a list of times."),
    (plan(stretch__at=["%02d:00" % h for h in range(9, 18)]), "Choose at most 8 stretch times."),
    (plan(stretch__at=["21:30", "21:30"]), "Each stretch time may appear only once."),
    (plan(timezone="europe/berlin"), "Choose a time zone from the list, such as Europe/Berlin."),
    # An unknown setting is named before the one it was probably meant to be.
    (plan(quiet=DELETE, quite={"from": "22:00", "until": "07:00"}), "Unknown setting “quite”."),
])
def test_refusals_read_as_sentences(data, message):
    with pytest.raises(PlanError) as info:
        validate_plan(data)
    assert info.value.message == message


def test_a_stretch_in_quiet_hours_says_why():
    with pytest.raises(PlanError) as info:
        validate_plan(plan(stretch__at=["21:30", "23:15"]))
    assert "23:15" in info.value.message
    assert "quiet" in info.value.message and "never" in info.value.message


def test_parse_hhmm():
    assert parse_hhmm("00:00").isoformat() == "00:00:00"
    assert parse_hhmm("23:59").isoformat() == "23:59:00"
    for bad in ("24:00", "7:00", "07:0", "07-00", "", None, "٠٧:٠٠"):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_available_zones_are_cached_and_real():
    assert available_zones() is available_zones()
    assert {"Europe/Berlin", "UTC", "Pacific/Chatham"} <= available_zones()
    assert "localtime" not in available_zones()


# -- fuzzing: nothing but PlanError ever escapes, and valid means stable ------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["08:00", "22:00", "21:30", "Europe/Berlin", "UTC"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)

PATHS = [("timezone",), ("hydration",), ("stretch",), ("quiet",)]
PATHS += [("hydration", k) for k in ("enabled", "every_minutes", "from", "until", "goal_glasses")]
PATHS += [("stretch", "enabled"), ("stretch", "at"), ("quiet", "from"), ("quiet", "until")]


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_any_json_is_refused_cleanly(value):
    with pytest.raises(PlanError):
        validate_plan(value)


@settings(max_examples=200, deadline=None)
@given(path=st.sampled_from(PATHS), value=json_values, delete=st.booleans())
def test_one_changed_field_is_valid_or_names_a_field(path, value, delete):
    data = copy.deepcopy(plan())
    target = data
    for name in path[:-1]:
        target = target[name]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    try:
        out = validate_plan(data)
    except PlanError as exc:
        assert exc.field.split(".")[0] in ("timezone", "hydration", "stretch", "quiet")
        assert exc.message
    else:
        assert validate_plan(out) == out
