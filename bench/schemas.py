"""The cost of checking a plan, per request: the hand-written validator that
came before the schemas (webapp/plan.py at the regroup's parent commit,
loaded as a module from git) against today's ``validate_plan`` (the plan's
JSON Schema checked by jsonschema-rs, then the rules a schema cannot say),
and the schema check alone with each candidate considered: jsonschema-rs,
the pure-Python ``jsonschema`` and pydantic v2 strict models (the last two
only when installed: ``pip install jsonschema pydantic``).

    python -m bench.schemas            # 20,000 rounds each
    python -m bench.schemas --rounds 200
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import subprocess
import sys
import timeit
from pathlib import Path

from webapp.reminders.plan import default_plan, plan_schema, validate_plan

ROOT = Path(__file__).resolve().parent.parent
OLD = "4a2e858^:webapp/plan.py"  # the last hand-written plan validator


def old_validator():
    """The old webapp/plan.py as a module (it imports nothing of webapp)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", OLD], check=True, capture_output=True,
                            text=True).stdout
    spec = importlib.util.spec_from_loader("old_plan", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, OLD, "exec"), module.__dict__)
    return module


def typical_plan():
    plan = default_plan("Europe/Berlin")
    plan["stretch"]["at"] = ["21:30", "07:30"]
    return plan


def pydantic_model():
    """The plan as pydantic v2 strict models (its shape only, as the schema)."""
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field

    hhmm = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

    class Section(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    class Hydration(Section):
        enabled: bool
        every_minutes: Annotated[int, Field(ge=15, le=720)]
        from_: hhmm = Field(alias="from")
        until: hhmm
        goal_glasses: Annotated[int, Field(ge=0, le=30)]
        fluid_limited: bool = False

    class Stretch(Section):
        enabled: bool
        at: Annotated[list[hhmm], Field(max_length=8)]

    class Quiet(Section):
        from_: hhmm = Field(alias="from")
        until: hhmm

    class Plan(Section):
        timezone: str
        hydration: Hydration
        stretch: Stretch
        quiet: Quiet

    return lambda data: Plan.model_validate(data).model_dump(by_alias=True)


def candidates():
    """(name, the schema check alone) for each candidate that is installed."""
    import jsonschema_rs

    schema = plan_schema()
    found = [("jsonschema-rs", jsonschema_rs.Draft202012Validator(schema).is_valid)]
    try:
        import jsonschema
    except ImportError:
        print("jsonschema: not installed", file=sys.stderr)
    else:
        found.append(("jsonschema (pure Python)", jsonschema.Draft202012Validator(schema).is_valid))
    try:
        found.append(("pydantic v2 strict models", pydantic_model()))
    except ImportError:
        print("pydantic: not installed", file=sys.stderr)
    return found


def per_call(fn, data, rounds):
    """Microseconds per call, the best of 3 runs."""
    return min(timeit.repeat(lambda: fn(data), number=rounds, repeat=3)) / rounds * 1e6


def refused(validate, error):
    def run(data):
        try:
            validate(data)
        except error:
            return
        raise AssertionError("a bad plan was accepted")
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args(argv).rounds
    old = old_validator()
    plan = typical_plan()
    bad = copy.deepcopy(plan)
    bad["hydration"]["every_minutes"] = 5
    assert old.validate_plan(plan) == validate_plan(plan), "the two validators disagree"

    print(f"µs per plan checked ({rounds:,} rounds, best of 3)")
    print("whole validation (schema + rules + canonical plan):")
    rows = [("old hand validator, a valid plan", old.validate_plan, plan),
            ("validate_plan (jsonschema-rs), a valid plan", validate_plan, plan),
            ("old hand validator, a bad plan", refused(old.validate_plan, old.PlanError), bad),
            ("validate_plan (jsonschema-rs), a bad plan", refused(validate_plan, ValueError), bad)]
    for name, fn, data in rows:
        print(f"  {name:48} {per_call(fn, data, rounds):8.1f}")
    print("the schema check alone, a valid plan:")
    for name, fn in candidates():
        print(f"  {name:48} {per_call(fn, plan, rounds):8.1f}")


if __name__ == "__main__":
    main()
