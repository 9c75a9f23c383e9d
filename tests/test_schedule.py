"""webapp.schedule: next due times across zones, DST and quiet hours."""
import functools
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from webapp.reminders.plan import available_zones, default_plan, validate_plan
from webapp.reminders.times import parse_hhmm, time_in_quiet, time_in_window
from webapp.reminders.schedule import in_quiet, local_date, next_due, snooze_until

UTC = timezone.utc
NO_QUIET = {"from": "00:00", "until": "00:00"}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def make_plan(tz, *, hydration=None, stretch=None, quiet=None):
    p = default_plan(tz)
    p["hydration"].update(hydration or {})
    p["stretch"].update(stretch or {})
    p["quiet"] = dict(quiet or p["quiet"])
    return validate_plan(p)


def only_stretch(tz, at, quiet=NO_QUIET):
    return make_plan(tz, hydration={"enabled": False}, stretch={"at": at}, quiet=quiet)


def only_water(tz, start, end, every, quiet=NO_QUIET, goal=0):
    return make_plan(tz, hydration={"from": start, "until": end, "every_minutes": every, "goal_glasses": goal},
                     stretch={"enabled": False}, quiet=quiet)


def steps(plan, kind, after, n, **kw):
    out = []
    for _ in range(n):
        after = next_due(plan, kind, after, **kw)
        if after is None:
            break
        out.append(after)
    return out


# -- everyday behaviour -----------------------------------------------------------

def test_default_plan_in_berlin_summer():
    plan = make_plan("Europe/Berlin")
    dues = steps(plan, "hydration", utc(2024, 6, 1, 5, 0), 8)  # 07:00 CEST
    assert dues == [utc(2024, 6, 1, h) for h in (6, 8, 10, 12, 14, 16, 18)] + [utc(2024, 6, 2, 6)]
    assert next_due(plan, "stretch", utc(2024, 6, 1, 5)) == utc(2024, 6, 1, 19, 30)  # 21:30 CEST


def test_due_is_strictly_after():
    plan = make_plan("UTC")
    assert next_due(plan, "hydration", utc(2024, 1, 1, 10)) == utc(2024, 1, 1, 12)
    assert next_due(plan, "hydration", utc(2024, 1, 1, 9, 59, 59, 999999)) == utc(2024, 1, 1, 10)
    assert next_due(plan, "stretch", utc(2024, 1, 1, 21, 30)) == utc(2024, 1, 2, 21, 30)


def test_disabled_or_empty_gives_none():
    assert next_due(make_plan("UTC", hydration={"enabled": False}), "hydration", utc(2024, 1, 1)) is None
    assert next_due(make_plan("UTC", stretch={"enabled": False}), "stretch", utc(2024, 1, 1)) is None
    assert next_due(make_plan("UTC", stretch={"at": []}), "stretch", utc(2024, 1, 1)) is None


def test_window_fully_inside_quiet_hours_gives_none():
    plan = only_water("UTC", "23:00", "05:00", 60, quiet={"from": "22:00", "until": "07:00"})
    assert next_due(plan, "hydration", utc(2024, 1, 1)) is None


def test_bad_arguments():
    plan = make_plan("UTC")
    with pytest.raises(ValueError):
        next_due(plan, "hydration", datetime(2024, 1, 1))  # naive
    with pytest.raises(ValueError):
        next_due(plan, "sleep", utc(2024, 1, 1))
    with pytest.raises(ValueError):
        in_quiet(plan, datetime(2024, 1, 1))


def test_an_aware_non_utc_after_is_accepted_and_utc_comes_back():
    plan = make_plan("UTC")
    after = datetime(2024, 1, 1, 11, tzinfo=ZoneInfo("Europe/Berlin"))  # 10:00 UTC
    due = next_due(plan, "hydration", after)
    assert due == utc(2024, 1, 1, 12) and due.tzinfo is UTC


# -- quiet hours -------------------------------------------------------------------------

def test_wrapping_quiet_hours():
    plan = make_plan("UTC", quiet={"from": "22:00", "until": "07:00"})
    assert [in_quiet(plan, utc(2024, 1, 1, h, m)) for h, m in
            [(21, 59), (22, 0), (23, 59), (0, 0), (6, 59), (7, 0), (12, 0)]] == \
        [False, True, True, True, True, False, False]


def test_quiet_hours_within_a_day_and_none():
    plan = make_plan("UTC", quiet={"from": "13:00", "until": "14:00"}, stretch={"at": []})
    assert in_quiet(plan, utc(2024, 1, 1, 13, 30)) and not in_quiet(plan, utc(2024, 1, 1, 14))
    plan = make_plan("UTC", quiet={"from": "07:00", "until": "07:00"})
    assert not any(in_quiet(plan, utc(2024, 1, 1, h)) for h in range(24))


def test_quiet_hours_are_local():
    plan = make_plan("America/New_York", quiet={"from": "22:00", "until": "07:00"})
    assert in_quiet(plan, utc(2024, 1, 2, 4))  # 23:00 EST
    assert not in_quiet(plan, utc(2024, 1, 1, 23))  # 18:00 EST


def test_slots_in_quiet_hours_are_skipped_not_moved():
    plan = only_water("UTC", "06:00", "23:30", 60, quiet={"from": "22:00", "until": "07:00"})
    assert steps(plan, "hydration", utc(2024, 5, 1, 20, 30), 2) == [utc(2024, 5, 1, 21), utc(2024, 5, 2, 7)]


def test_snooze():
    plan = make_plan("UTC", quiet={"from": "22:00", "until": "07:00"})
    assert snooze_until(plan, utc(2024, 1, 1, 21, 50), 5) == utc(2024, 1, 1, 21, 55)
    assert snooze_until(plan, utc(2024, 1, 1, 21, 50), 30) == utc(2024, 1, 2, 7)
    assert snooze_until(plan, utc(2024, 1, 2, 5), 30) == utc(2024, 1, 2, 7)
    berlin = make_plan("Europe/Berlin", quiet={"from": "22:00", "until": "07:00"})
    assert snooze_until(berlin, utc(2024, 7, 1, 19, 50), 15) == utc(2024, 7, 2, 5)  # 07:00 CEST


# -- the daily goal -----------------------------------------------------------------------

def test_goal_reached_resumes_the_next_local_day():
    plan = make_plan("Europe/Berlin")  # goal 8
    after = utc(2024, 6, 1, 10, 30)  # 12:30 CEST
    assert next_due(plan, "hydration", after, glasses_today=7) == utc(2024, 6, 1, 12)
    assert next_due(plan, "hydration", after, glasses_today=8) == utc(2024, 6, 2, 6)  # 08:00 CEST
    assert next_due(plan, "hydration", after, glasses_today=12) == utc(2024, 6, 2, 6)


def test_goal_is_counted_per_local_day():
    plan = make_plan("Asia/Tokyo")  # +09:00
    after = utc(2024, 6, 1, 16)  # 01:00 on 2 June in Tokyo
    assert local_date(plan, after) == date(2024, 6, 2)
    assert next_due(plan, "hydration", after, glasses_today=8) == utc(2024, 6, 2, 23)  # 08:00, 3 June


def test_no_goal_never_stops():
    plan = make_plan("UTC", hydration={"goal_glasses": 0})
    assert next_due(plan, "hydration", utc(2024, 1, 1, 9), glasses_today=30) == utc(2024, 1, 1, 10)


def test_goal_with_a_window_across_midnight_resumes_at_the_first_slot_after_midnight():
    plan = only_water("UTC", "22:00", "02:00", 60, goal=2)
    assert next_due(plan, "hydration", utc(2024, 1, 1, 22, 30), glasses_today=2) == utc(2024, 1, 2, 0)


# -- DST and odd zones ------------------------------------------------------------------------

def test_berlin_spring_forward_moves_a_missing_time_by_the_gap():
    plan = only_stretch("Europe/Berlin", ["02:30"])
    assert steps(plan, "stretch", utc(2024, 3, 30, 12), 2) == [
        utc(2024, 3, 31, 1, 30),  # 02:30 does not exist: 03:30 CEST
        utc(2024, 4, 1, 0, 30),  # 02:30 CEST
    ]


def test_berlin_fall_back_fires_an_ambiguous_time_once():
    plan = only_stretch("Europe/Berlin", ["02:30"])
    assert steps(plan, "stretch", utc(2024, 10, 26, 12), 2) == [
        utc(2024, 10, 27, 0, 30),  # the first 02:30 (CEST); not again at 01:30 UTC
        utc(2024, 10, 28, 1, 30),  # 02:30 CET
    ]


def test_new_york_spring_forward_hydration_keeps_absolute_spacing():
    plan = only_water("America/New_York", "00:00", "06:00", 60)
    dues = steps(plan, "hydration", utc(2024, 3, 10, 4), 7)  # 23:00 EST on 9 March
    # 00:00 EST, 01:00 EST, then 03:00, 04:00, 05:00, 06:00 EDT; 02:00 never exists
    assert dues == [utc(2024, 3, 10, h) for h in (5, 6, 7, 8, 9, 10)] + [utc(2024, 3, 11, 4)]


def test_new_york_fall_back_hydration_keeps_absolute_spacing():
    plan = only_water("America/New_York", "00:00", "06:00", 60)
    dues = steps(plan, "hydration", utc(2024, 11, 3, 3), 9)  # 23:00 EDT on 2 Nov
    # 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 ... 06:00 EST: one an hour, the hour repeats
    assert dues == [utc(2024, 11, 3, h) for h in range(4, 12)] + [utc(2024, 11, 4, 5)]
    assert all(b - a >= timedelta(hours=1) for a, b in zip(dues, dues[1:]))


def test_new_york_stretch_both_transitions():
    assert next_due(only_stretch("America/New_York", ["02:30"]), "stretch", utc(2024, 3, 10)) == \
        utc(2024, 3, 10, 7, 30)  # 03:30 EDT
    plan = only_stretch("America/New_York", ["01:30"])
    assert steps(plan, "stretch", utc(2024, 11, 3), 2) == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]


def test_lord_howe_half_hour_dst():
    # +10:30 standard, +11:00 summer; clocks move 30 minutes at 02:00.
    spring = only_stretch("Australia/Lord_Howe", ["02:15"])
    assert next_due(spring, "stretch", utc(2024, 10, 5)) == utc(2024, 10, 5, 15, 45)  # 02:45 +11
    autumn = only_stretch("Australia/Lord_Howe", ["01:45"])
    assert steps(autumn, "stretch", utc(2024, 4, 6), 2) == [
        utc(2024, 4, 6, 14, 45),  # the first 01:45 (+11:00) on 7 April
        utc(2024, 4, 7, 15, 15),  # 01:45 (+10:30) on 8 April
    ]
    water = only_water("Australia/Lord_Howe", "01:00", "04:00", 30)
    dues = steps(water, "hydration", utc(2024, 10, 5, 14), 6)  # 01:00 +10:30 is 14:30 UTC
    assert dues[0] == utc(2024, 10, 5, 14, 30)
    assert all(b - a >= timedelta(minutes=30) for a, b in zip(dues, dues[1:]))


def test_kathmandu_quarter_hour_offset():
    plan = make_plan("Asia/Kathmandu")  # +05:45 all year
    assert next_due(plan, "stretch", utc(2024, 1, 15)) == utc(2024, 1, 15, 15, 45)
    assert next_due(plan, "hydration", utc(2024, 1, 15)) == utc(2024, 1, 15, 2, 15)


def test_chatham_dst_at_a_quarter_to_three():
    # +12:45 standard, +13:45 summer; the change happens at 02:45 standard time.
    plan = only_stretch("Pacific/Chatham", ["03:00"])
    assert next_due(plan, "stretch", utc(2024, 9, 28)) == utc(2024, 9, 28, 14, 15)  # 04:00 +13:45
    assert steps(plan, "stretch", utc(2024, 4, 6), 2) == [
        utc(2024, 4, 6, 13, 15),  # the first 03:00 (+13:45) on 7 April
        utc(2024, 4, 7, 14, 15),  # 03:00 (+12:45) on 8 April
    ]


def test_apia_skipped_a_whole_day():
    # Samoa jumped from 29 to 31 December 2011.
    plan = make_plan("Pacific/Apia", hydration={"goal_glasses": 0})
    dues = steps(plan, "hydration", utc(2011, 12, 29), 20)
    assert len(dues) == 20
    assert all(b - a >= timedelta(minutes=120) for a, b in zip(dues, dues[1:]))
    assert all(not in_quiet(plan, d) for d in dues)


def test_a_day_long_window_keeps_a_full_interval_across_midnight():
    plan = only_water("UTC", "00:00", "23:59", 700)
    # 00:00, 11:40, then 23:20 would be only 40 minutes before the next 00:00.
    assert steps(plan, "hydration", utc(2024, 1, 1) - timedelta(seconds=1), 4) == [
        utc(2024, 1, 1, 0), utc(2024, 1, 1, 11, 40), utc(2024, 1, 2, 0), utc(2024, 1, 2, 11, 40)]


def test_local_date():
    plan = make_plan("Europe/Berlin")
    assert local_date(plan, utc(2024, 6, 1, 21, 59)) == date(2024, 6, 1)
    assert local_date(plan, utc(2024, 6, 1, 22, 0)) == date(2024, 6, 2)


# -- properties over many zones and dates ----------------------------------------------------

ZONES = sorted(available_zones())
INTERESTING = [
    "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kathmandu",
    "Pacific/Apia", "America/Santiago", "America/Havana", "America/Sao_Paulo", "Asia/Gaza",
    "Africa/Casablanca", "Asia/Tehran", "Antarctica/Troll", "Europe/Dublin", "Australia/Adelaide",
    "America/St_Johns", "Pacific/Kiritimati",
]
FIXED = ["UTC", "Asia/Kathmandu", "Asia/Kolkata", "Etc/GMT+11", "Pacific/Kiritimati", "Asia/Tokyo"]


def hhmm(h, m):
    return f"{h:02d}:{m:02d}"


# Any time, or one near the small hours where DST changes happen.
times = st.one_of(
    st.builds(hhmm, st.integers(0, 23), st.integers(0, 59)),
    st.builds(hhmm, st.integers(0, 3), st.sampled_from([0, 15, 30, 45])),
)


@functools.lru_cache(maxsize=None)
def transitions(zone_name, year):
    """UTC instants (to the minute) where the zone's offset changes in `year`."""
    zone = ZoneInfo(zone_name)
    found = []
    t = utc(year, 1, 1)
    end = utc(year + 1, 1, 1)
    step = timedelta(hours=6)
    while t < end:
        if t.astimezone(zone).utcoffset() != (t + step).astimezone(zone).utcoffset():
            lo, hi = t, t + step
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        t += step
    return tuple(found)


@st.composite
def plans(draw, zones=None):
    tz = draw(st.sampled_from(zones) if zones else st.one_of(st.sampled_from(ZONES), st.sampled_from(INTERESTING)))
    start = draw(times)
    end = draw(times.filter(lambda t: t != start))
    quiet = draw(st.one_of(st.tuples(times, times), st.just(("00:00", "00:00"))))
    at = draw(st.lists(times, max_size=8, unique=True))
    qf, qu = parse_hhmm(quiet[0]), parse_hhmm(quiet[1])
    return validate_plan({
        "timezone": tz,
        "hydration": {
            "enabled": True,
            "every_minutes": draw(st.one_of(st.integers(15, 720), st.sampled_from([15, 30, 60, 90, 120]))),
            "from": start,
            "until": end,
            "goal_glasses": draw(st.integers(0, 30)),
        },
        "stretch": {"enabled": True, "at": [t for t in at if not time_in_quiet(parse_hhmm(t), qf, qu)]},
        "quiet": {"from": quiet[0], "until": quiet[1]},
    })


@st.composite
def moments(draw, tz):
    """A UTC moment in 2000-2037, half the time within days of a DST change."""
    if draw(st.booleans()):
        year = draw(st.integers(2000, 2037))
        changes = transitions(tz, year)
        if changes:
            change = draw(st.sampled_from(changes))
            return change + timedelta(seconds=draw(st.integers(-3 * 86400, 86400)))
    return draw(st.datetimes(datetime(2000, 1, 1), datetime(2037, 12, 31), timezones=st.just(UTC)))


@st.composite
def cases(draw, zones=None):
    plan = draw(plans(zones))
    return plan, draw(moments(plan["timezone"]))


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hydration_window(plan):
    h = plan["hydration"]
    return parse_hhmm(h["from"]), parse_hhmm(h["until"])


@PROPERTY
@given(case=cases())
def test_hydration_steps_are_later_quiet_free_in_window_and_spaced(case):
    plan, after = case
    zone = ZoneInfo(plan["timezone"])
    every = timedelta(minutes=plan["hydration"]["every_minutes"])
    start, end = hydration_window(plan)
    previous = None
    for _ in range(20):
        due = next_due(plan, "hydration", after)
        if due is None:
            break
        assert due > after and due.utcoffset() == timedelta(0)
        assert not in_quiet(plan, due)
        assert time_in_window(due.astimezone(zone).time(), start, end)
        if previous is not None:
            assert due - previous >= every
        previous = after = due


@PROPERTY
@given(case=cases())
def test_stretch_steps_are_later_quiet_free_and_once_per_local_time_a_day(case):
    plan, after = case
    zone = ZoneInfo(plan["timezone"])
    seen = set()
    for _ in range(20):
        due = next_due(plan, "stretch", after)
        if due is None:
            assert not plan["stretch"]["at"] or after.year >= 2037
            break
        assert due > after and due.utcoffset() == timedelta(0)
        assert not in_quiet(plan, due)
        local = due.astimezone(zone)
        key = (local.date(), local.time())
        assert key not in seen
        seen.add(key)
        # It is one of the listed times of that day or the day before
        # (moved forward by a DST gap), resolved as the first occurrence.
        assert any(
            datetime.combine(day, parse_hhmm(t), tzinfo=zone).astimezone(UTC) == due
            for day in (local.date(), local.date() - timedelta(days=1))
            for t in plan["stretch"]["at"]
        )
        after = due


@PROPERTY
@given(case=cases(), kind=st.sampled_from(["hydration", "stretch"]), fraction=st.floats(0, 1, exclude_max=True))
def test_nothing_is_skipped_between_after_and_due(case, kind, fraction):
    """Asking again from any moment before the answer gives the same answer."""
    plan, after = case
    due = next_due(plan, kind, after)
    assume(due is not None)
    between = after + (due - after) * fraction
    if between < due:
        assert next_due(plan, kind, between) == due


@PROPERTY
@given(case=cases(), extra=st.integers(0, 5))
def test_goal_reached_means_not_before_the_next_local_day(case, extra):
    plan, after = case
    goal = plan["hydration"]["goal_glasses"]
    assume(goal > 0)
    due = next_due(plan, "hydration", after, glasses_today=goal + extra)
    if due is not None:
        assert local_date(plan, due) > local_date(plan, after)
        assert not in_quiet(plan, due)
        assert due >= next_due(plan, "hydration", after)


@PROPERTY
@given(case=cases(zones=FIXED), kind=st.sampled_from(["hydration", "stretch"]))
def test_matches_a_minute_by_minute_oracle_in_fixed_offset_zones(case, kind):
    """Without DST, local time is UTC plus a constant: count in minutes."""
    plan, after = case
    offset = after.astimezone(ZoneInfo(plan["timezone"])).utcoffset()
    local_after = (after + offset).replace(tzinfo=None)
    day0 = datetime.combine(local_after.date(), time())
    qf, qu = parse_hhmm(plan["quiet"]["from"]), parse_hhmm(plan["quiet"]["until"])

    def minutes(t):
        return t.hour * 60 + t.minute

    candidates = []
    for d in range(-1, 4):
        base = day0 + timedelta(days=d)
        if kind == "stretch":
            candidates += [base + timedelta(minutes=minutes(parse_hhmm(t))) for t in plan["stretch"]["at"]]
            continue
        h = plan["hydration"]
        start, end = hydration_window(plan)
        first = minutes(start)
        length = (minutes(end) - first) % 1440
        last = min(first + length, first + 1440 - h["every_minutes"])
        candidates += [base + timedelta(minutes=m) for m in range(first, last + 1, h["every_minutes"])]
    candidates = [c for c in candidates if c > local_after and not time_in_quiet(c.time(), qf, qu)]
    expected = (min(candidates) - offset).replace(tzinfo=UTC) if candidates else None
    assert next_due(plan, kind, after) == expected


@PROPERTY
@given(case=cases(), minutes=st.integers(5, 240))
def test_snooze_is_never_in_quiet_hours_and_not_early(case, minutes):
    plan, now = case
    until = snooze_until(plan, now, minutes)
    assert until >= now + timedelta(minutes=minutes)
    assert not in_quiet(plan, until)
    assert until - now <= timedelta(minutes=minutes) + timedelta(hours=26)


def test_next_live_due_skips_what_expired_during_an_outage():
    from webapp.reminders.plan import default_plan
    from webapp.reminders.schedule import deliver_by, next_live_due

    plan = default_plan("UTC")
    due_at = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    # Down for 61 days: the next live hydration is the current slot, not 14:00 on day 0.
    now = due_at + timedelta(days=61, hours=1)
    due = next_live_due(plan, "hydration", due_at, now)
    assert due == datetime(2026, 5, 2, 14, 0, tzinfo=timezone.utc)
    assert deliver_by(plan, "hydration", due) > now
    # Nothing missed: the ordinary next one.
    assert next_live_due(plan, "hydration", due_at, due_at) == due_at + timedelta(hours=2)
