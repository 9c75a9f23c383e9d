"""The reminder plan: its default and the validation of untrusted JSON.

A plan is always stored and handed around in one canonical shape (see
DESIGN.md), so the scheduler never has to second-guess what it reads.
Pure module: no Flask, no database.
"""
from __future__ import annotations

import copy
import functools
import re
import zoneinfo

from webapp.reminders.times import parse_hhmm, time_in_quiet

__all__ = [
    "DEFAULT_PLAN",
    "default_plan",
    "PlanError",
    "validate_plan",
    "available_zones",
]

DEFAULT_PLAN = {
    "timezone": "UTC",
    "hydration": {
        "enabled": True,
        "every_minutes": 120,
        "from": "08:00",
        "until": "20:00",
        "goal_glasses": 8,
        "fluid_limited": False,
    },
    "stretch": {"enabled": True, "at": ["21:30"]},
    "quiet": {"from": "22:00", "until": "07:00"},
}

EVERY_MINUTES_RANGE = (15, 720)
GOAL_GLASSES_RANGE = (0, 30)
MAX_STRETCH_TIMES = 8

# Names zoneinfo lists that are not real IANA zones: "localtime" is a link to
# the server's own zone and "Factory" is a placeholder with no meaning.
_NOT_ZONES = frozenset({"localtime", "Factory"})

_SHAPE = {
    "timezone": None,
    "hydration": ("enabled", "every_minutes", "from", "until", "goal_glasses", "fluid_limited"),
    "stretch": ("enabled", "at"),
    "quiet": ("from", "until"),
}
# Settings added after the first clients shipped: absent means false, so
# older clients and stored plans stay valid.
_OPTIONAL = frozenset({"hydration.fluid_limited"})


class PlanError(ValueError):
    """A plan was refused; ``field`` is the dotted path of the culprit
    ("plan" for the whole document), ``message`` a sentence for a person."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@functools.cache
def available_zones() -> frozenset[str]:
    """The accepted zone names; cached because the scan reads the disk."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def validate_plan(data) -> dict:
    """Check an untrusted, whole plan and return a new canonical dict.

    Every key is required (a plan is replaced as a whole), unknown keys are
    refused so a typo is not silently ignored. Raises PlanError.
    """
    obj = _object(data, "plan")
    _keys(obj, _SHAPE, "")

    tz = obj["timezone"]
    if not isinstance(tz, str) or tz not in available_zones():
        raise PlanError("timezone", "Choose a time zone from the list, such as Europe/Berlin.")

    h = _object(obj["hydration"], "hydration")
    _keys(h, _SHAPE["hydration"], "hydration.")
    s = _object(obj["stretch"], "stretch")
    _keys(s, _SHAPE["stretch"], "stretch.")
    q = _object(obj["quiet"], "quiet")
    _keys(q, _SHAPE["quiet"], "quiet.")

    hydration = {
        "enabled": _bool(h["enabled"], "hydration.enabled"),
        "every_minutes": _int(h["every_minutes"], "hydration.every_minutes",
                              *EVERY_MINUTES_RANGE,
                              "Water reminders can come every {lo} to {hi} minutes."),
        "from": _hhmm(h["from"], "hydration.from"),
        "until": _hhmm(h["until"], "hydration.until"),
        "goal_glasses": _int(h["goal_glasses"], "hydration.goal_glasses",
                             *GOAL_GLASSES_RANGE,
                             "The daily goal is {lo} to {hi} glasses ({lo} means no goal)."),
        # "My doctor limits how much I drink": no water reminder, no goal.
        "fluid_limited": _bool(h.get("fluid_limited", False), "hydration.fluid_limited"),
    }
    if hydration["from"] == hydration["until"]:
        raise PlanError("hydration.until",
                        "Water reminders need a window: make the end differ from the start.")

    quiet = {"from": _hhmm(q["from"], "quiet.from"), "until": _hhmm(q["until"], "quiet.until")}

    stretch_enabled = _bool(s["enabled"], "stretch.enabled")
    at = s["at"]
    if not isinstance(at, list):
        raise PlanError("stretch.at", "Stretch times must be a list of times.")
    if len(at) > MAX_STRETCH_TIMES:
        raise PlanError("stretch.at", f"Choose at most {MAX_STRETCH_TIMES} stretch times.")
    times = [_hhmm(t, "stretch.at") for t in at]
    if len(set(times)) != len(times):
        raise PlanError("stretch.at", "Each stretch time may appear only once.")
    times.sort()
    if stretch_enabled:
        # A disabled reminder never fires anyway; only warn about what would.
        qf, qu = parse_hhmm(quiet["from"]), parse_hhmm(quiet["until"])
        for t in times:
            if time_in_quiet(parse_hhmm(t), qf, qu):
                raise PlanError(
                    "stretch.at",
                    f"The stretch reminder at {t} falls in your quiet hours "
                    f"({quiet['from']}–{quiet['until']}), so it would never be sent. "
                    "Move it or change the quiet hours.",
                )

    return {
        "timezone": tz,
        "hydration": hydration,
        "stretch": {"enabled": stretch_enabled, "at": times},
        "quiet": quiet,
    }


def default_plan(timezone: str = "UTC") -> dict:
    """A fresh copy of DEFAULT_PLAN in the given zone (callers may mutate it)."""
    plan = copy.deepcopy(DEFAULT_PLAN)
    plan["timezone"] = timezone
    return plan


# -- small checkers; each raises PlanError naming its field -----------------

def _object(value, field: str) -> dict:
    if not isinstance(value, dict):
        what = "The plan" if field == "plan" else f"The setting “{field}”"
        raise PlanError(field, f"{what} must be a JSON object.")
    return value


def _keys(obj: dict, expected, prefix: str) -> None:
    for key in obj:
        if key not in expected:
            raise PlanError(f"{prefix}{key}", f"Unknown setting “{prefix}{key}”.")
    for key in expected:
        if key not in obj and f"{prefix}{key}" not in _OPTIONAL:
            raise PlanError(f"{prefix}{key}", f"The setting “{prefix}{key}” is missing.")


def _bool(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise PlanError(field, f"The setting “{field}” must be true or false.")
    return value


def _int(value, field: str, lo: int, hi: int, out_of_range: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PlanError(field, f"The setting “{field}” must be a whole number.")
    if not lo <= value <= hi:
        raise PlanError(field, out_of_range.format(lo=lo, hi=hi))
    return value


def _hhmm(value, field: str) -> str:
    try:
        parse_hhmm(value)
    except ValueError:
        raise PlanError(field, "Times are written as HH:MM, from 00:00 to 23:59.") from None
    return value
