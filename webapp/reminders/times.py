"""Wall-clock helpers shared by plan validation and the schedule: "HH:MM"
times, the hydration window and quiet hours (pure: no Flask, no database)."""
import functools
import re
from datetime import time

# Strictly two digits each side; [0-9] rather than \d, which matches any
# Unicode digit.
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def parse_hhmm(s: str) -> time:
    """Parse a strict "HH:MM" (00:00-23:59) into a time; ValueError otherwise."""
    if not isinstance(s, str):
        raise ValueError("a time must be a string")
    return _parse_hhmm(s)


@functools.lru_cache(maxsize=4096)
def _parse_hhmm(s: str) -> time:
    # Cached: the scheduler parses the same few strings for every reminder.
    m = _HHMM.fullmatch(s)
    if m is None:
        raise ValueError(f"{s!r} is not a time written as HH:MM")
    return time(int(m.group(1)), int(m.group(2)))


def time_in_quiet(t: time, quiet_from: time, quiet_until: time) -> bool:
    """Quiet hours are [from, until), may wrap midnight; from == until means none."""
    if quiet_from == quiet_until:
        return False
    if quiet_from < quiet_until:
        return quiet_from <= t < quiet_until
    return t >= quiet_from or t < quiet_until


def time_in_window(t: time, start: time, end: time) -> bool:
    """The hydration window is [from, until], both ends included; may wrap."""
    if start <= end:
        return start <= t <= end
    return t >= start or t <= end
