"""Command's KeyfactorSchedule: when a job runs next, and the compact forms history and agents read.

A schedule is Command's REST object with exactly one member (keyfactor-api.md §5): `{"Immediate": true}`,
`{"Interval": {"Minutes": 60}}`, `{"Daily": {"Time": "…T08:30:00Z"}}`, `{"Weekly": {"Days": [1, 3], "Time": …}}`
(System.DayOfWeek: 0 Sunday … 6 Saturday), `{"Monthly": {"Day": 31, "Time": …}}`, `{"ExactlyOnce": {"Time": …}}`.
All times are UTC; recurring schedules keep only the hour and minute of their `Time`, as the agent does.
"""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

_KIND_NAMES = ("Immediate", "Interval", "Daily", "Weekly", "Monthly", "ExactlyOnce")
_MAX_MINUTES = 2**31 - 1
# .NET accepts day names for Weekly.Days; we read them too and always write integers.
_DAY_NAMES = {name.lower(): (index + 1) % 7 for index, name in enumerate(calendar.day_name)}


class ScheduleError(ValueError):
    """A schedule object that is not one of Command's KeyfactorSchedule shapes."""


def canonical_schedule(schedule: object, *, allow_off: bool = False) -> dict[str, Any]:
    """The schedule as it is stored and answered: exactly one member, Weekly days as sorted integers, times as
    `YYYY-MM-DDTHH:MM:SSZ`. None (no schedule given) is Immediate; an object that sets no member or two, or `Off`
    where it is not allowed, is a ScheduleError."""
    if schedule is None:
        return {"Immediate": True}
    if isinstance(schedule, dict) and not any(value not in (None, False) for value in schedule.values()):
        raise ScheduleError("A schedule must set exactly one of " + ", ".join(_KIND_NAMES) + ".")
    kind, spec = _member(schedule)
    if kind == "Off" and not allow_off:
        raise ScheduleError("Off turns off a certificate store's schedule; a job needs a schedule that runs.")
    if kind in ("Immediate", "Off"):
        return {kind: True}
    if kind == "Interval":
        return {kind: {"Minutes": _minutes(spec)}}
    if kind == "Weekly":
        return {kind: {"Days": _week_days(spec), "Time": _iso(_time(spec))}}
    if kind == "Monthly":
        return {kind: {"Day": _month_day(spec), "Time": _iso(_time(spec))}}
    return {kind: {"Time": _iso(_time(spec))}}


def next_run_after(schedule: dict[str, Any] | None, after: datetime) -> datetime | None:
    """The first run strictly after `after`, or None when the schedule has no further run
    (Immediate, Off, or an ExactlyOnce whose time has come). Raises ScheduleError for a malformed schedule."""
    kind, spec = _member(schedule)
    after = _utc(after)
    if kind == "Interval":
        return after + timedelta(minutes=_minutes(spec))
    if kind == "ExactlyOnce":
        at = _time(spec)
        return at if at > after else None
    if kind in ("Daily", "Weekly", "Monthly"):
        clock = _clock(spec)
        day = after.date()
        # The candidate days from `after`'s own day on: a week covers Daily and Weekly, 32 days a month.
        for offset in range(33 if kind == "Monthly" else 8):
            candidate = day + timedelta(days=offset)
            if _runs_on(kind, spec, candidate):
                at = datetime.combine(candidate, clock, tzinfo=UTC)
                if at > after:
                    return at
        raise AssertionError("unreachable: every recurring schedule runs within 33 days")
    return None


def first_run_at(schedule: dict[str, Any] | None, now: datetime) -> datetime | None:
    """When a newly scheduled job is first due: now for Immediate and Interval; the set time for ExactlyOnce
    (now if it has passed); for Daily, Weekly and Monthly the first occurrence at or after both now and their
    Time (Command's Time is the first run); None when Off."""
    kind, spec = _member(schedule)
    now = _utc(now)
    if kind == "Interval":
        _minutes(spec)  # refuse a malformed interval now rather than at its first run
    if kind in ("Immediate", "Interval"):
        return now
    if kind == "ExactlyOnce":
        return max(_time(spec), now)
    if kind == "Off":
        return None
    return next_run_after(schedule, max(_time(spec), now) - timedelta(microseconds=1))


def schedule_type(schedule: dict[str, Any] | None) -> str | None:
    """The compact form of a schedule (agent-protocol.md §6): what orchestrators are handed as `Schedule`, and the
    `ScheduleType` that history and scheduled jobs store and queries compare. `I_60`, `D_08:30`, `W_246_08:30`
    (the agent counts 1 = Sunday … 7 = Saturday), `M_31_08:30`, `O_2026-12-01T08:30`; None for Immediate (and Off)."""
    kind, spec = _member(schedule)
    if kind == "Interval":
        return f"I_{_minutes(spec)}"
    if kind == "Daily":
        return f"D_{_clock(spec):%H:%M}"
    if kind == "Weekly":
        days = "".join(str(day + 1) for day in _week_days(spec))
        return f"W_{days}_{_clock(spec):%H:%M}"
    if kind == "Monthly":
        return f"M_{_month_day(spec)}_{_clock(spec):%H:%M}"
    if kind == "ExactlyOnce":
        return f"O_{_time(spec):%Y-%m-%dT%H:%M}"
    return None


# --- parsing -------------------------------------------------------------------------------

_KINDS = {kind.lower(): kind for kind in (*_KIND_NAMES, "Off")}


def _member(schedule: object) -> tuple[str, Any]:
    """(kind, spec) of the schedule's one set member, keys matched case-insensitively; Immediate when empty."""
    if schedule is None:
        return "Immediate", True
    if not isinstance(schedule, dict):
        raise ScheduleError(f"A schedule must be an object, not {type(schedule).__name__}.")
    members = [(key, value) for key, value in schedule.items() if value not in (None, False)]
    if not members:
        return "Immediate", True
    if len(members) > 1:
        raise ScheduleError("A schedule must set exactly one of " + ", ".join(_KINDS.values()) + ".")
    key, spec = members[0]
    kind = _KINDS.get(str(key).lower())
    if kind is None:
        raise ScheduleError(f"Unknown schedule kind {key!r}.")
    if kind not in ("Immediate", "Off") and not isinstance(spec, dict):
        raise ScheduleError(f"{kind} must be an object.")
    return kind, spec


def _field(spec: dict[str, Any], name: str) -> Any:
    for key, value in spec.items():
        if str(key).lower() == name.lower():
            return value
    return None


def _minutes(spec: dict[str, Any]) -> int:
    minutes = _field(spec, "Minutes")
    # Command's Minutes is an int32; the bound also keeps every next run inside the years a datetime can hold.
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= _MAX_MINUTES:
        raise ScheduleError(f"Interval.Minutes must be a whole number from 1 to {_MAX_MINUTES}.")
    return minutes


def _time(spec: dict[str, Any]) -> datetime:
    value = _field(spec, "Time")
    if isinstance(value, datetime):
        return _utc(value)
    if not isinstance(value, str):
        raise ScheduleError("The schedule needs a Time (ISO 8601, UTC).")
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        raise ScheduleError(
            f"Invalid schedule Time {value!r}; expected ISO 8601 such as 2026-01-31T08:30:00Z."
        ) from None


def _clock(spec: dict[str, Any]) -> time:
    """The time of day of a recurring schedule: its Time's hour and minute, UTC."""
    at = _time(spec)
    return time(at.hour, at.minute)


def _week_days(spec: dict[str, Any]) -> list[int]:
    raw = _field(spec, "Days")
    if not isinstance(raw, list) or not raw:
        raise ScheduleError("Weekly.Days must list at least one day (0 Sunday … 6 Saturday).")
    days = set()
    for item in raw:
        day = _DAY_NAMES.get(item.lower()) if isinstance(item, str) else item
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ScheduleError(f"Invalid day {item!r} in Weekly.Days; expected 0 (Sunday) … 6 (Saturday).")
        days.add(day)
    return sorted(days)


def _month_day(spec: dict[str, Any]) -> int:
    day = _field(spec, "Day")
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
        raise ScheduleError("Monthly.Day must be a day of the month, 1 … 31.")
    return day


def _runs_on(kind: str, spec: dict[str, Any], day: date) -> bool:
    if kind == "Daily":
        return True
    if kind == "Weekly":
        # date.weekday() is 0 Monday … 6 Sunday; Command's days are 0 Sunday … 6 Saturday.
        return (day.weekday() + 1) % 7 in _week_days(spec)
    # A Day past the end of a short month runs on its last day (31 → 30 April, 28/29 February).
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(_month_day(spec), last)


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
