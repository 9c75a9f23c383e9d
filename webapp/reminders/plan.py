"""The reminder plan: its JSON Schema, its default, and the validation of
untrusted JSON against both the schema and the rules a schema cannot say.

A plan holds the timezone, one section per scheduled kind (its shape set by
the kind's rule: see webapp.reminders.kinds) and the quiet hours. It is
always stored and handed around in one canonical shape (see DESIGN.md), so
the scheduler never has to second-guess what it reads. The schema is the one
the OpenAPI document shows. Pure module: no Flask, no database.
"""
from __future__ import annotations

import copy
import functools
import zoneinfo

from webapp.reminders.checks import HHMM, Checker, Invalid
from webapp.reminders.kinds import STANDARD, Registry
from webapp.reminders.times import parse_hhmm, time_in_quiet

__all__ = ["DEFAULT_PLAN", "default_plan", "as_known", "PlanError", "validate_plan", "plan_schema", "available_zones"]

EVERY_MINUTES_RANGE = (15, 720)
GOAL_GLASSES_RANGE = (0, 30)
MAX_TIMES = 8
DEFAULT_QUIET = {"from": "22:00", "until": "07:00"}
ZONE_MESSAGE = "Choose a time zone from the list, such as Europe/Berlin."

# Names zoneinfo lists that are not real IANA zones: "localtime" is a link to
# the server's own zone and "Factory" is a placeholder with no meaning.
_NOT_ZONES = frozenset({"localtime", "Factory"})

PlanError = Invalid  # what validate_plan raises; ``field`` is "plan" for the whole document


@functools.cache
def available_zones() -> frozenset[str]:
    """The accepted zone names; cached because the scan reads the disk."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


# -- the schema: a section per rule --------------------------------------------

def _interval_schema(kind) -> dict:
    lo, hi = EVERY_MINUTES_RANGE
    every = f"{kind.noun.capitalize()} reminders can come every {lo} to {hi} minutes."
    glo, ghi = GOAL_GLASSES_RANGE
    goal = f"The daily goal is {glo} to {ghi} glasses ({glo} means no goal)."
    return {
        "type": "object", "additionalProperties": False,
        "required": ["enabled", "every_minutes", "from", "until", "goal_glasses"],
        "properties": {
            "enabled": {"type": "boolean"},
            "every_minutes": {"type": "integer", "minimum": lo, "maximum": hi,
                              "errorMessage": {"minimum": every, "maximum": every}},
            "from": HHMM, "until": HHMM,
            "goal_glasses": {"type": "integer", "minimum": glo, "maximum": ghi,
                             "errorMessage": {"minimum": goal, "maximum": goal}},
            # Added after the first clients shipped: absent means false, so
            # older clients and stored plans stay valid.
            "fluid_limited": {"type": "boolean", "default": False,
                              "description": "The person's doctor limits their fluids: "
                                             "no water reminder is ever sent and there is no goal."},
        },
    }


def _times_schema(kind) -> dict:
    return {
        "type": "object", "additionalProperties": False, "required": ["enabled", "at"],
        "properties": {
            "enabled": {"type": "boolean"},
            "at": {"type": "array", "items": HHMM, "maxItems": MAX_TIMES, "uniqueItems": True,
                   "errorMessage": {"type": f"{kind.noun.capitalize()} times must be a list of times.",
                                    "maxItems": f"Choose at most {MAX_TIMES} {kind.noun} times.",
                                    "uniqueItems": f"Each {kind.noun} time may appear only once."}},
        },
    }


def plan_schema(kinds: Registry = STANDARD) -> dict:
    """The JSON Schema of a whole plan for these kinds."""
    return {
        "type": "object", "additionalProperties": False,
        "required": ["timezone", *(k.name for k in kinds.scheduled), "quiet"],
        "properties": {
            "timezone": {"type": "string", "description": "IANA time zone", "errorMessage": ZONE_MESSAGE},
            **{k.name: _RULES[k.rule][0](k) for k in kinds.scheduled},
            "quiet": {"type": "object", "additionalProperties": False, "required": ["from", "until"],
                      "properties": {"from": HHMM, "until": HHMM}},
        },
    }


@functools.lru_cache(maxsize=16)
def _checker(kinds: Registry) -> Checker:
    return Checker(plan_schema(kinds), "plan")


# -- what a schema cannot say: canonical sections -----------------------------------

def _interval(kind, h: dict, quiet: dict) -> dict:
    if h["from"] == h["until"]:
        raise PlanError(f"{kind.name}.until",
                        f"{kind.noun.capitalize()} reminders need a window: make the end differ from the start.")
    return {"enabled": h["enabled"], "every_minutes": h["every_minutes"], "from": h["from"],
            "until": h["until"], "goal_glasses": h["goal_glasses"],
            # "My doctor limits how much I drink": no water reminder, no goal.
            "fluid_limited": h.get("fluid_limited", False)}


def _times(kind, s: dict, quiet: dict) -> dict:
    times = sorted(s["at"])
    if s["enabled"]:
        # A disabled reminder never fires anyway; only warn about what would.
        qf, qu = parse_hhmm(quiet["from"]), parse_hhmm(quiet["until"])
        for t in times:
            if time_in_quiet(parse_hhmm(t), qf, qu):
                raise PlanError(
                    f"{kind.name}.at",
                    f"The {kind.noun} reminder at {t} falls in your quiet hours "
                    f"({quiet['from']}–{quiet['until']}), so it would never be sent. "
                    "Move it or change the quiet hours.",
                )
    return {"enabled": s["enabled"], "at": times}


_RULES = {"interval": (_interval_schema, _interval), "times": (_times_schema, _times)}


def validate_plan(data, kinds: Registry = STANDARD) -> dict:
    """Check an untrusted, whole plan and return a new canonical dict.

    Every key is required (a plan is replaced as a whole), unknown keys are
    refused so a typo is not silently ignored. Raises PlanError.
    """
    _checker(kinds).check(data)
    if data["timezone"] not in available_zones():
        raise PlanError("timezone", ZONE_MESSAGE)
    quiet = {"from": data["quiet"]["from"], "until": data["quiet"]["until"]}
    plan = {"timezone": data["timezone"]}
    for kind in kinds.scheduled:
        plan[kind.name] = _RULES[kind.rule][1](kind, data[kind.name], quiet)
    plan["quiet"] = quiet
    return plan


def as_known(plan: dict, kinds: Registry = STANDARD) -> dict:
    """A stored plan as this registry reads it, so it can be edited and sent
    back whole: a section of a kind the registry no longer has is left out,
    and a kind added since the plan was stored shows its default section,
    off (the schedule sends nothing for a section the plan lacks)."""
    known = {"timezone": plan["timezone"]}
    for kind in kinds.scheduled:
        known[kind.name] = plan[kind.name] if kind.name in plan else {**copy.deepcopy(kind.plan), "enabled": False}
    known["quiet"] = plan["quiet"]
    return known


def default_plan(timezone: str = "UTC", kinds: Registry = STANDARD) -> dict:
    """A fresh default plan in the given zone (callers may mutate it)."""
    return {"timezone": timezone, **{k.name: copy.deepcopy(k.plan) for k in kinds.scheduled},
            "quiet": dict(DEFAULT_QUIET)}


DEFAULT_PLAN = default_plan()
