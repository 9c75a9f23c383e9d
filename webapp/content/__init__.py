"""The health content as data: read once from the JSON files beside this module."""
import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
MUSCLES = ("calf", "foot", "hamstring", "quadriceps")


@cache
def load(name):
    with open(HERE / f"{name}.json", encoding="utf-8") as f:
        return json.load(f)


def files():
    """Every content file, so the service worker's version follows the content."""
    return sorted(HERE.glob("*.json"))
