"""The health content as data: read once from the JSON files beside this module."""
import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
MUSCLES = ("calf", "foot", "hamstring", "quadriceps")
LEVELS = ("emergency", "urgent", "soon", "selfcare")


@cache
def load(name):
    with open(HERE / f"{name}.json", encoding="utf-8") as f:
        return json.load(f)


def files():
    """Every content file, so the service worker's version follows the content."""
    return sorted(HERE.glob("*.json"))


@cache
def triage():
    """The one triage table: its levels, every red flag by id, and the flags of each level
    in the table's order, so every page that shows a red flag shows the same words."""
    table = load("triage")
    flags = {f["id"]: f for f in table["flags"]}
    return {
        "levels": table["levels"],
        "flags": flags,
        "by_level": {level: [f for f in table["flags"] if f["level"] == level] for level in LEVELS},
        "checks": table["checks"],
        "diary_symptoms": table["diary_symptoms"],
    }


def check_level(check):
    """An after-care check is as urgent as the most urgent red flag it asks about."""
    flags = triage()["flags"]
    return min((flags[f]["level"] for f in check["flags"]), key=LEVELS.index)


def numbers_for_page():
    """The emergency numbers by region, in the compact shape static/js/emergency.js reads."""
    table = load("emergency_numbers")
    return {
        "fallback": {k: table["fallback"][k] for k in ("emergency", "label")},
        "regions": {key: {k: r[k] for k in ("name", "countries", "emergency", "urgent")}
                    for key, r in table["regions"].items()},
    }
