"""The seed's traffic pattern as Auto Scaling scheduled actions: pure functions, no Pulumi.

Creates nothing itself; `ApiTier` turns the actions computed here into
`aws.autoscaling.Schedule` resources on the primary region's API group:
- three recurring actions in the schedule's time zone: business hours (weekdays from
  07:00), weekend days (from 07:00, business capacity x the weekend factor) and off-hours
  (every day from 20:00);
- per seasonal window (Black Friday, Cyber Monday, end of quarter) whose day falls in the
  twelve months from the plan date: a start action at the day's local midnight, one hold action a
  minute after each recurring action that fires on that day, and an end action at the next
  midnight.

The functions take the day they plan from (`StackSettings.plan_date`: `qnom:planDate`, or
today in the schedule's time zone when unset), so the output is deterministic for a given
date. Seasonal actions are named by window and year (`black-friday-2025-start`),
so a daily `pulumi up` changes nothing until a window passes or a new one comes within
twelve months.

Sizes: the schedule is a floor. Every action sets the group's minimum and leaves its desired
capacity to AWS: raising the minimum above the group's current size makes Auto Scaling raise
the desired capacity to it ("If you specify a new value for MinSize without specifying a value
for DesiredCapacity, and the new MinSize is larger than the current size of the group, we
implicitly call SetDesiredCapacity", UpdateAutoScalingGroup API reference), so 07:00 brings
the business-hours size at once; lowering the minimum forces nothing, and the CPU-low step
policy and request tracking scale in as the load falls, never below the floor. An explicit
desired capacity would instead force a scale-in whenever the load or a surge holds the group
above the period's size (a desired capacity alone, without the minimum, lasts only until the
next scale-in). The recurring actions leave the maximum to the phase. A window raises the
floor to its surge size and the ceiling to the catalog's explicit `surge_max` at midnight. The
recurring actions of that day (07:00, 20:00) lower the floor again, so the window re-asserts
it one minute after each of them (Auto Scaling refuses two scheduled actions of a group at
the same time); the hold is the larger of the surge and the period's size. During that minute
the floor is lower but nothing is terminated: a scale-in needs its alarm's evaluation
periods first. The end action, at the next local midnight, restores the off-hours floor (the
size the 20:00 action sets) and the phase's maximum, which scales the group in to it.

Changes replace, never update: the provider re-sends the start time AWS computed when a
recurring action was created, and AWS rejects an update whose start time is in the past
("Given start time is in the past", pulumi/pulumi-aws#2473,
hashicorp/terraform-provider-aws#38983). `ApiTier` therefore registers every action with
`replace_on_changes=["*"]` and `delete_before_replace=True` (the replacement keeps the
action's name, so creating it first would collide, and deleting the old one afterwards
would remove the new one).

Drift during a window: the window's start action changes the group's min/max behind
Pulumi's back. A `pulumi up --refresh` on that day would see the difference and revert
them, cancelling the surge. So the program reads the date too: on a window's day,
`group_size()` declares the window's own min/max, and the already-run start action
(which AWS deletes once it has run, and which could not be re-created with a past start
time) is left out. The day's hold actions stay declared (the program knows the date, not
the hour); a refresh after one of them has run would see it gone, so on a window's day run
`pulumi up` without `--refresh`. Outside windows the program declares the phase's min/max.
No stack setting is needed for this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from phases.models import Capacity, SeasonalWindow, TrafficSchedule

UNCHANGED = -1
"""The provider's value for "leave this size as it is"; an omitted size would be sent as 0."""
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
WEEKDAYS, WEEKEND, EVERY_DAY = "1-5", "0,6", "*"  # Unix cron day-of-week, Sunday = 0
HOLD_DELAY = timedelta(minutes=1)
"""How long after a recurring action a window re-asserts its floor (never the same minute)."""


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3, days=1)


def cyber_monday(year: int) -> date:
    """The Monday after Black Friday."""
    return black_friday(year) + timedelta(days=3)


def quarter_ends(year: int) -> list[date]:
    """The last day of each calendar quarter."""
    return [date(year, 3, 31), date(year, 6, 30), date(year, 9, 30), date(year, 12, 31)]


def one_year_after(day: date) -> date:
    """Same day next year; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@dataclass(frozen=True)
class Window:
    """One dated seasonal window: a whole local day."""

    name: str
    """Catalog name: black-friday, cyber-monday or end-of-quarter."""
    label: str
    """Name with its year (and quarter), stable for the window's lifetime: black-friday-2025."""
    day: date
    factor: float


def _dated(window: SeasonalWindow, year: int) -> list[Window]:
    if window.name == "black-friday":
        return [Window(window.name, f"black-friday-{year}", black_friday(year), window.factor)]
    if window.name == "cyber-monday":
        return [Window(window.name, f"cyber-monday-{year}", cyber_monday(year), window.factor)]
    return [Window(window.name, f"end-of-quarter-{year}-q{quarter}", day, window.factor)
            for quarter, day in enumerate(quarter_ends(year), start=1)]


def upcoming_windows(schedule: TrafficSchedule, on: date) -> list[Window]:
    """Windows whose day is in [on, one year after on), in date order; today's included."""
    horizon = one_year_after(on)
    windows = [dated for window in schedule.seasonal for year in (on.year, on.year + 1)
               for dated in _dated(window, year) if on <= dated.day < horizon]
    return sorted(windows, key=lambda window: (window.day, window.label))


def active_window(schedule: TrafficSchedule | None, on: date | None) -> Window | None:
    """The window running on `on`, if any."""
    if schedule is None or on is None:
        return None
    return next((window for window in upcoming_windows(schedule, on) if window.day == on), None)


@dataclass(frozen=True)
class ScheduledAction:
    """One Auto Scaling scheduled action; sizes are UNCHANGED where the action leaves them."""

    key: str
    """Action name, also the suffix of the resource name: business-hours, black-friday-2025-start."""
    min_size: int
    max_size: int
    desired_capacity: int
    recurrence: str | None = None
    """Unix cron in `time_zone`, for recurring actions."""
    start_time: str | None = None
    """UTC time of a one-time action (AWS takes one-time start times in UTC only)."""
    time_zone: str | None = None


def _cron(clock: str, days: str) -> str:
    hour, minute = (int(part) for part in clock.split(":"))
    return f"{minute} {hour} * * {days}"


def _utc(day: date, clock: time, time_zone: str, later: timedelta = timedelta(0)) -> str:
    local = datetime.combine(day, clock, tzinfo=ZoneInfo(time_zone)) + later
    return local.astimezone(timezone.utc).strftime(UTC_FORMAT)


def _utc_midnight(day: date, time_zone: str) -> str:
    return _utc(day, time.min, time_zone)


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


def _size_of(schedule: TrafficSchedule) -> dict[str, int]:
    return {
        "business-hours": schedule.business_hours_capacity,
        "weekend": schedule.weekend_capacity(),
        "off-hours": schedule.off_hours_capacity,
    }


def recurring_actions(schedule: TrafficSchedule) -> list[ScheduledAction]:
    """Business hours, weekend days and off-hours: each sets the floor (the minimum; see the module docstring)."""
    sizes = _size_of(schedule)

    def action(key: str, clock: str, days: str) -> ScheduledAction:
        return ScheduledAction(key=key, min_size=sizes[key], max_size=UNCHANGED, desired_capacity=UNCHANGED,
                               recurrence=_cron(clock, days), time_zone=schedule.timezone)

    return [
        action("business-hours", schedule.business_hours_start, WEEKDAYS),
        action("weekend", schedule.business_hours_start, WEEKEND),
        action("off-hours", schedule.off_hours_start, EVERY_DAY),
    ]


def recurring_on(schedule: TrafficSchedule, day: date) -> list[tuple[str, str]]:
    """(action key, local clock) of the recurring actions that fire on `day`."""
    morning = "weekend" if day.weekday() >= 5 else "business-hours"
    return [(morning, schedule.business_hours_start), ("off-hours", schedule.off_hours_start)]


def window_size(schedule: TrafficSchedule, capacity: Capacity, window: Window) -> Capacity:
    """The group's bounds during `window`: floor at the surge size, ceiling at surge_max."""
    surge = schedule.seasonal_capacity(SeasonalWindow(name=window.name, factor=window.factor), capacity.desired)
    return Capacity(min=surge, desired=surge, max=schedule.surge_max)


def seasonal_actions(schedule: TrafficSchedule, capacity: Capacity, on: date) -> list[ScheduledAction]:
    """Start, hold and end actions of the coming windows; a running window has no start."""
    actions, sizes = [], _size_of(schedule)
    for window in upcoming_windows(schedule, on):
        surge = window_size(schedule, capacity, window)
        if window.day > on:
            actions.append(ScheduledAction(
                key=f"{window.label}-start", min_size=surge.min, max_size=surge.max,
                desired_capacity=UNCHANGED, start_time=_utc_midnight(window.day, schedule.timezone),
            ))
        for key, clock in recurring_on(schedule, window.day):
            hold = max(surge.min, sizes[key])
            actions.append(ScheduledAction(
                key=f"{window.label}-after-{key}", min_size=hold, max_size=surge.max, desired_capacity=UNCHANGED,
                start_time=_utc(window.day, _clock(clock), schedule.timezone, HOLD_DELAY),
            ))
        # Windows end at local midnight, after the 20:00 action: the off-hours floor is the right one.
        actions.append(ScheduledAction(
            key=f"{window.label}-end", min_size=schedule.off_hours_capacity, max_size=capacity.max,
            desired_capacity=UNCHANGED,
            start_time=_utc_midnight(window.day + timedelta(days=1), schedule.timezone),
        ))
    return actions


def scheduled_actions(schedule: TrafficSchedule, capacity: Capacity, on: date) -> list[ScheduledAction]:
    actions = recurring_actions(schedule) + seasonal_actions(schedule, capacity, on)
    # Auto Scaling refuses two scheduled actions of a group at the same moment.
    starts = [action.start_time for action in actions if action.start_time]
    clashes = sorted({start for start in starts if starts.count(start) > 1})
    if clashes:
        raise ValueError(f"seasonal windows meet at {', '.join(clashes)}; two scheduled actions cannot share a time")
    return actions


def group_size(capacity: Capacity, schedule: TrafficSchedule | None, on: date | None) -> Capacity:
    """What the program declares for the group on `on`: the window's bounds on a window's
    day, the phase's otherwise (see the module docstring on drift)."""
    window = active_window(schedule, on)
    return window_size(schedule, capacity, window) if window else capacity
