"""Pure time logic: when is the next reminder of a kind due for a plan.

A kind's rule (webapp.reminders.kinds) says how its section of the plan
gives its times: "interval" (a window stepped every so many minutes, with a
daily goal of glasses) or "times" (a list of local times). Kinds are named
as in the database; ``kinds`` is the app's registry of them.

Everything comes in and goes out as aware UTC datetimes; local wall-clock
times exist only inside this module. The plan is assumed to be valid (see
webapp.reminders.plan.validate_plan). No Flask, no database.

DST rules, all following from resolving a local time with fold=0:
- a local time that does not exist that day (spring forward) moves forward
  by the gap: 02:30 becomes 03:30;
- a local time that happens twice (fall back) fires once, the first time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from webapp.reminders.kinds import STANDARD, Kind, Registry
from webapp.reminders.times import parse_hhmm, time_in_quiet, time_in_window

__all__ = ["SEARCH_DAYS", "in_quiet", "local_date", "next_due", "snooze_until",
           "quiet_starts_after", "deliver_by", "next_live_due"]

UTC = timezone.utc
# How far ahead to look. Every day repeats the same local times, so if
# nothing fits in a few days nothing ever will (e.g. a window fully inside
# quiet hours); the extra days cover DST days and "goal reached today".
SEARCH_DAYS = 3
# A reminder still undelivered this long after its time is not worth showing.
MAX_TTL = timedelta(hours=12)

_ONE_DAY = timedelta(days=1)


def in_quiet(plan: dict, moment: datetime) -> bool:
    """Whether `moment` falls in the plan's quiet hours, by the local clock."""
    local = _aware(moment, "moment").astimezone(_zone(plan)).time()
    return time_in_quiet(local, *_quiet(plan))


def local_date(plan: dict, moment: datetime) -> date:
    """The date in the plan's zone at `moment`: the day glasses are counted in."""
    return _aware(moment, "moment").astimezone(_zone(plan)).date()


def next_due(plan: dict, kind: str, after: datetime, *, glasses_today: int = 0,
             kinds: Registry = STANDARD) -> datetime | None:
    """The first moment strictly after `after` a reminder of `kind` is due.

    None when the kind is disabled, has no times, has no section in the plan
    (one stored before the kind existed) or nothing fits within SEARCH_DAYS.
    `glasses_today` is the number logged on local_date(after).
    """
    after = _aware(after, "after").astimezone(UTC)
    rule = _kind(kinds, kind).rule
    if rule is None:
        raise ValueError(f"reminder kind {kind!r} is sent on request, not scheduled")
    section = plan.get(kind)
    if section is None:
        return None
    return _RULES[rule](plan, section, after, glasses_today)


def snooze_until(plan: dict, now: datetime, minutes: int | float) -> datetime:
    """now + minutes, pushed to the end of quiet hours if it lands inside them."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    due = _aware(now, "now").astimezone(UTC) + timedelta(minutes=minutes)
    if not in_quiet(plan, due):
        return due
    zone = _zone(plan)
    quiet_from, quiet_until = _quiet(plan)
    day = due.astimezone(zone).date()
    for offset in range(3):
        end = _at(day + offset * _ONE_DAY, quiet_until, zone)
        if end > due and not time_in_quiet(end.astimezone(zone).time(), quiet_from, quiet_until):
            return end
    return due  # unreachable: quiet hours always end within a day


def quiet_starts_after(plan: dict, moment: datetime) -> datetime | None:
    """The next start of quiet hours strictly after `moment` (None: no quiet hours)."""
    quiet_from, quiet_until = _quiet(plan)
    if quiet_from == quiet_until:
        return None
    zone = _zone(plan)
    day = _aware(moment, "moment").astimezone(zone).date()
    for offset in range(3):
        start = _at(day + offset * _ONE_DAY, quiet_from, zone)
        if start > moment:
            return start
    return None  # unreachable: quiet hours start once a day


def deliver_by(plan: dict, kind: str, due: datetime, *, kinds: Registry = STANDARD) -> datetime:
    """When a reminder due at `due` is no longer worth delivering: once the
    next one of its kind is due, once quiet hours begin (a late delivery must
    not wake anyone), and after MAX_TTL at the latest. Its push TTL ends here."""
    limits = [due + MAX_TTL, quiet_starts_after(plan, due)]
    if _kind(kinds, kind).scheduled:
        limits.append(next_due(plan, kind, due, kinds=kinds))
    return min(limit for limit in limits if limit is not None)


def next_live_due(plan: dict, kind: str, after: datetime, now: datetime, *,
                  glasses_today: int = 0, kinds: Registry = STANDARD) -> datetime | None:
    """The first due time after `after` still worth delivering at `now`.

    Occurrences whose deliver_by has passed are skipped, so however long the
    sender was down, it ends with at most one catch-up per kind. Anything due
    before now - MAX_TTL has expired, which bounds the walk.
    """
    moment = max(after, now - MAX_TTL - timedelta(seconds=1))
    due = next_due(plan, kind, moment, glasses_today=glasses_today, kinds=kinds)
    while due is not None and due <= now and deliver_by(plan, kind, due, kinds=kinds) <= now:
        due = next_due(plan, kind, due, glasses_today=glasses_today, kinds=kinds)
    return due


# -- the rules ----------------------------------------------------------------

def _next_interval(plan: dict, h: dict, after: datetime, glasses_today: int) -> datetime | None:
    """Slots start at the window's start and step every_minutes in absolute
    time, so a DST change never brings two reminders closer than that."""
    if not h["enabled"] or h.get("fluid_limited"):  # absent in plans stored before it existed
        return None
    zone = _zone(plan)
    start_t, end_t = parse_hhmm(h["from"]), parse_hhmm(h["until"])
    wraps = end_t < start_t
    every = timedelta(minutes=h["every_minutes"])
    quiet = _quiet(plan)
    today = after.astimezone(zone).date()
    goal = h["goal_glasses"]
    first_day = today + _ONE_DAY if goal and glasses_today >= goal else today

    # Window days in order; a wrapping window that began yesterday may still
    # be open now, hence -1.
    for offset in range(-1, SEARCH_DAYS + 1):
        day = today + offset * _ONE_DAY
        start = _at(day, start_t, zone)
        end = _at(day + _ONE_DAY if wraps else day, end_t, zone)
        # The last slot of a day keeps a full interval before the next day's
        # first one. This also keeps the days' slots in order, so the first
        # day with a match holds the answer.
        last = min(end, _at(day + _ONE_DAY, start_t, zone) - every)
        k = 0 if after < start else (after - start) // every + 1
        slot = start + k * every
        while slot <= last:
            local = slot.astimezone(zone)
            if (
                local.date() >= first_day
                and time_in_window(local.time(), start_t, end_t)
                and not time_in_quiet(local.time(), *quiet)
            ):
                return slot
            slot += every
    return None


def _next_times(plan: dict, s: dict, after: datetime, glasses_today: int) -> datetime | None:
    """The earliest of the listed local times after `after` (glasses do not count)."""
    if not s["enabled"] or not s["at"]:
        return None
    zone = _zone(plan)
    times = [parse_hhmm(t) for t in s["at"]]
    quiet = _quiet(plan)
    today = after.astimezone(zone).date()
    best = None
    found_on = None
    # From yesterday: a late time in a gap at midnight moves into today.
    for offset in range(-1, SEARCH_DAYS + 1):
        # A DST gap can push a time past the next day's early ones, so look
        # one day beyond the first match before settling.
        if found_on is not None and offset > found_on + 1:
            break
        day = today + offset * _ONE_DAY
        for t in times:
            due = _at(day, t, zone)
            if due <= after or (best is not None and due >= best):
                continue
            if time_in_quiet(due.astimezone(zone).time(), *quiet):
                continue  # e.g. a time moved by a DST gap into quiet hours
            best = due
            if found_on is None:
                found_on = offset
    return best


_RULES = {"interval": _next_interval, "times": _next_times}


# -- helpers --------------------------------------------------------------------

def _kind(kinds: Registry, name: str) -> Kind:
    try:
        return kinds[name]
    except KeyError:
        raise ValueError(f"unknown reminder kind {name!r}") from None


def _zone(plan: dict) -> ZoneInfo:
    return ZoneInfo(plan["timezone"])  # ZoneInfo caches its instances


def _quiet(plan: dict) -> tuple[time, time]:
    q = plan["quiet"]
    return parse_hhmm(q["from"]), parse_hhmm(q["until"])


def _at(day: date, t: time, zone: ZoneInfo) -> datetime:
    """The UTC moment of local time `t` on `day`. fold=0 maps a time in a
    gap with the offset before it (so it moves forward by the gap) and an
    ambiguous time to its first occurrence."""
    return datetime.combine(day, t, tzinfo=zone).astimezone(UTC)


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment
