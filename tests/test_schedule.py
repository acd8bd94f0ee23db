"""The traffic schedule (seed: Traffic Pattern Scaling), computed without the engine."""

from __future__ import annotations

from datetime import date, timedelta

import pydantic
import pytest

from components.compute import schedule as traffic
from phases.catalog import load_phase
from phases.models import Capacity, TrafficSchedule

GROWTH = load_phase(2)
PINNED = date(2025, 11, 1)  # a Saturday, four weeks before Black Friday 2025


def growth_actions(on: date = PINNED) -> dict[str, traffic.ScheduledAction]:
    return {a.key: a for a in traffic.scheduled_actions(GROWTH.schedule, GROWTH.primary_region.api, on)}


@pytest.mark.parametrize("year, friday, monday", [
    (2024, date(2024, 11, 29), date(2024, 12, 2)),
    (2025, date(2025, 11, 28), date(2025, 12, 1)),
    (2026, date(2026, 11, 27), date(2026, 11, 30)),
    (2027, date(2027, 11, 26), date(2027, 11, 29)),
    (2028, date(2028, 11, 24), date(2028, 11, 27)),  # November starts on a Wednesday
    (2029, date(2029, 11, 23), date(2029, 11, 26)),  # November starts on a Thursday
])
def test_black_friday_is_the_day_after_the_fourth_thursday(year, friday, monday):
    assert traffic.black_friday(year) == friday
    assert traffic.black_friday(year).weekday() == 4
    assert traffic.cyber_monday(year) == monday


@pytest.mark.parametrize("day, expected", [
    (date(2025, 11, 1), date(2026, 11, 1)),
    (date(2024, 2, 29), date(2025, 2, 28)),
])
def test_one_year_after(day, expected):
    assert traffic.one_year_after(day) == expected


def test_windows_of_the_next_twelve_months_in_date_order():
    labels = [w.label for w in traffic.upcoming_windows(GROWTH.schedule, PINNED)]
    assert labels == [
        "black-friday-2025", "cyber-monday-2025", "end-of-quarter-2025-q4",
        "end-of-quarter-2026-q1", "end-of-quarter-2026-q2", "end-of-quarter-2026-q3",
    ]  # Black Friday 2026 (27 Nov) is past the horizon of 1 Nov 2026


def test_recurring_actions_follow_the_seed_clock_and_set_the_floor():
    actions = growth_actions()
    expected = {
        "business-hours": ("0 7 * * 1-5", 6),
        "weekend": ("0 7 * * 0,6", 4),    # max(off-hours 4, ceil(6 x 0.5) = 3)
        "off-hours": ("0 20 * * *", 4),
    }
    for key, (recurrence, size) in expected.items():
        action = actions[key]
        assert action.recurrence == recurrence
        # The minimum only: scale-in policies cannot go below it, and AWS raises the desired
        # capacity to a higher minimum itself; an explicit one would force scale-ins.
        assert (action.min_size, action.desired_capacity, action.max_size) == (size, -1, -1)
        assert action.time_zone == "America/New_York"
        assert action.start_time is None


def test_the_seeds_own_sizes_become_floors():
    # Seed, Traffic Pattern Scaling: business hours 10, off-hours 3, weekends x 0.5.
    seed = TrafficSchedule(business_hours_capacity=10, off_hours_capacity=3, weekend_factor=0.5, surge_max=50,
                           seasonal=[{"name": "black-friday", "factor": 5.0}])
    actions = {a.key: a for a in traffic.scheduled_actions(seed, Capacity(min=2, desired=4, max=20), PINNED)}
    assert (actions["business-hours"].min_size, actions["business-hours"].desired_capacity) == (10, -1)
    assert (actions["weekend"].min_size, actions["weekend"].desired_capacity) == (5, -1)
    assert (actions["off-hours"].min_size, actions["off-hours"].desired_capacity) == (3, -1)
    # Black Friday 2025 is a Friday: 4 x 5 = 20 from midnight, held after 07:00 and 20:00, then off-hours.
    assert [(a.key, a.min_size, a.desired_capacity, a.max_size, a.start_time)
            for a in actions.values() if a.key.startswith("black-friday-2025")] == [
        ("black-friday-2025-start", 20, -1, 50, "2025-11-28T05:00:00Z"),
        ("black-friday-2025-after-business-hours", 20, -1, 50, "2025-11-28T12:01:00Z"),
        ("black-friday-2025-after-off-hours", 20, -1, 50, "2025-11-29T01:01:00Z"),
        ("black-friday-2025-end", 3, -1, 20, "2025-11-29T05:00:00Z"),
    ]


def test_seasonal_windows_raise_max_explicitly_and_restore_it():
    actions = growth_actions()
    # Growth desired is 4: Black Friday x5 = 20, Cyber Monday x4 = 16, end of quarter x2 = 8.
    for key, surge in (("black-friday-2025", 20), ("cyber-monday-2025", 16), ("end-of-quarter-2025-q4", 8)):
        start, end = actions[f"{key}-start"], actions[f"{key}-end"]
        assert (start.min_size, start.desired_capacity, start.max_size) == (surge, -1, 20)  # surge_max 20
        # Midnight, after the 20:00 action: the off-hours floor (4) and the phase's max (6).
        assert (end.min_size, end.desired_capacity, end.max_size) == (4, -1, 6)
        assert start.recurrence is None and end.recurrence is None


@pytest.mark.parametrize(("window", "morning", "morning_time", "evening_time"), [
    ("black-friday-2025", "business-hours", "2025-11-28T12:01:00Z", "2025-11-29T01:01:00Z"),  # Friday, EST
    ("end-of-quarter-2026-q1", "business-hours", "2026-03-31T11:01:00Z", "2026-04-01T00:01:00Z"),  # Tuesday, EDT
    ("end-of-quarter-2026-q2", "business-hours", "2026-06-30T11:01:00Z", "2026-07-01T00:01:00Z"),
    ("end-of-quarter-2025-q4", "business-hours", "2025-12-31T12:01:00Z", "2026-01-01T01:01:00Z"),
])
def test_a_window_holds_its_floor_after_each_recurring_action_of_its_day(window, morning, morning_time, evening_time):
    actions = growth_actions()
    after_morning, after_evening = actions[f"{window}-after-{morning}"], actions[f"{window}-after-off-hours"]
    start = actions[f"{window}-start"]
    for hold in (after_morning, after_evening):
        assert (hold.min_size, hold.desired_capacity, hold.max_size) == (start.min_size, -1, 20)
        assert hold.recurrence is None
    assert (after_morning.start_time, after_evening.start_time) == (morning_time, evening_time)


def test_a_weekend_window_holds_after_the_weekend_action():
    # End of Q3 2028 is a Saturday: the 07:00 action of that day is the weekend one.
    actions = {a.key: a for a in traffic.scheduled_actions(GROWTH.schedule, GROWTH.primary_region.api,
                                                           date(2028, 1, 1))}
    assert "end-of-quarter-2028-q3-after-weekend" in actions
    assert "end-of-quarter-2028-q3-after-business-hours" not in actions
    assert actions["end-of-quarter-2028-q3-after-weekend"].start_time == "2028-09-30T11:01:00Z"


def test_a_hold_never_lowers_the_floor_below_the_period():
    # A window smaller than business hours holds business hours' floor after 07:00.
    small = GROWTH.schedule.model_copy(update={"seasonal": [GROWTH.schedule.seasonal[2].model_copy(
        update={"factor": 1.25})]})
    actions = {a.key: a for a in traffic.scheduled_actions(small, GROWTH.primary_region.api, PINNED)}
    assert actions["end-of-quarter-2025-q4-start"].min_size == 5                   # ceil(4 x 1.25)
    assert actions["end-of-quarter-2025-q4-after-business-hours"].min_size == 6    # business hours
    assert actions["end-of-quarter-2025-q4-after-off-hours"].min_size == 5


@pytest.mark.parametrize("key, start_time", [
    ("black-friday-2025-start", "2025-11-28T05:00:00Z"),      # midnight EST
    ("black-friday-2025-end", "2025-11-29T05:00:00Z"),
    ("cyber-monday-2025-start", "2025-12-01T05:00:00Z"),
    ("end-of-quarter-2025-q4-end", "2026-01-01T05:00:00Z"),
    ("end-of-quarter-2026-q1-start", "2026-03-31T04:00:00Z"),  # midnight EDT
    ("end-of-quarter-2026-q3-end", "2026-10-01T04:00:00Z"),
])
def test_windows_span_a_local_day_given_in_utc(key, start_time):
    assert growth_actions()[key].start_time == start_time


def test_a_running_window_keeps_its_end_and_the_group_keeps_its_surge():
    friday = date(2025, 11, 28)
    actions = growth_actions(friday)
    assert "black-friday-2025-start" not in actions  # already run, and AWS refuses past start times
    assert actions["black-friday-2025-after-off-hours"].min_size == 20
    assert actions["black-friday-2025-end"].start_time == "2025-11-29T05:00:00Z"
    surge = traffic.group_size(GROWTH.primary_region.api, GROWTH.schedule, friday)
    assert surge == Capacity(min=20, desired=20, max=20)


def test_outside_windows_the_group_keeps_the_phase_bounds():
    saturday = date(2025, 11, 29)
    assert "black-friday-2025-end" not in growth_actions(saturday)
    assert traffic.group_size(GROWTH.primary_region.api, GROWTH.schedule, saturday) == Capacity(min=4, desired=4, max=6)
    assert traffic.group_size(GROWTH.primary_region.api, None, saturday) == Capacity(min=4, desired=4, max=6)


def test_daily_runs_do_not_churn_between_windows():
    assert growth_actions(date(2025, 11, 2)) == growth_actions(date(2025, 11, 3))


@pytest.mark.parametrize("phase", [2, 3, 4])
def test_every_scheduled_size_stays_within_bounds_all_year(phase):
    catalog = load_phase(phase)
    bounds, schedule = catalog.primary_region.api, catalog.schedule
    for offset in range(0, 366, 3):
        on = PINNED + timedelta(days=offset)
        actions = traffic.scheduled_actions(schedule, bounds, on)
        times = [action.start_time for action in actions if action.start_time]
        assert len(times) == len(set(times))
        for action in actions:
            if action.recurrence:
                assert bounds.min <= action.min_size <= bounds.max, action
                assert action.max_size == action.desired_capacity == -1, action
            elif action.key.endswith("-end"):
                assert (action.min_size, action.max_size) == (schedule.off_hours_capacity, bounds.max), action
                assert action.desired_capacity == -1, action
            else:  # start and holds
                assert bounds.min <= action.min_size <= action.max_size, action
                assert action.desired_capacity == -1, action
                assert bounds.max <= action.max_size == schedule.surge_max, action
        size = traffic.group_size(bounds, schedule, on)
        assert bounds.min <= size.min <= size.desired <= size.max <= schedule.surge_max


@pytest.mark.parametrize("phase, business, off, weekend, black_friday", [
    (2, 6, 4, 4, 20),
    (3, 20, 10, 10, 50),
    (4, 50, 26, 26, 130),
])
def test_catalog_schedule_sizes(phase, business, off, weekend, black_friday):
    catalog = load_phase(phase)
    actions = {a.key: a for a in traffic.scheduled_actions(catalog.schedule, catalog.primary_region.api, PINNED)}
    assert (actions["business-hours"].min_size, actions["business-hours"].desired_capacity) == (business, -1)
    assert (actions["off-hours"].min_size, actions["off-hours"].desired_capacity) == (off, -1)
    assert (actions["weekend"].min_size, actions["weekend"].desired_capacity) == (weekend, -1)
    assert actions["black-friday-2025-start"].min_size == black_friday
    assert actions["black-friday-2025-after-business-hours"].min_size == black_friday
    assert actions["black-friday-2025-after-off-hours"].min_size == black_friday
    assert (actions["black-friday-2025-end"].min_size, actions["black-friday-2025-end"].desired_capacity) == (off, -1)


def _schedule(**changes) -> dict:
    document = {"business_hours_capacity": 6, "off_hours_capacity": 4, "weekend_factor": 0.5, "surge_max": 20,
                "seasonal": [{"name": "black-friday", "factor": 5.0}]}
    document.update(changes)
    return document


@pytest.mark.parametrize("changes, message", [
    ({"timezone": "Mars/Olympus_Mons"}, "IANA time zone"),
    ({"business_hours_start": "21:00"}, "must be before off_hours_start"),
    ({"off_hours_start": "25:00"}, "24-hour HH:MM"),
    ({"seasonal": [{"name": "black-friday", "factor": 5.0}, {"name": "black-friday", "factor": 3.0}]}, "unique"),
    ({"seasonal": [{"name": "boxing-day", "factor": 2.0}]}, "black-friday"),
    ({"seasonal": [{"name": "black-friday", "factor": 1.0}]}, "greater than 1"),
])
def test_invalid_schedules_are_refused(changes, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        TrafficSchedule.model_validate(_schedule(**changes))

