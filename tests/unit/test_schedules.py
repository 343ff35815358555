"""Next runs and agent forms of Command's schedules: month ends, leap years, weekly wrap-around."""

from datetime import UTC, datetime
from typing import Any

import pytest

from orchjobs.domain.schedules import (
    ScheduleError,
    canonical_schedule,
    first_run_at,
    next_run_after,
    schedule_type,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def daily(clock: str) -> dict[str, Any]:
    return {"Daily": {"Time": f"2020-01-01T{clock}:00Z"}}


def weekly(days: list[Any], clock: str) -> dict[str, Any]:
    return {"Weekly": {"Days": days, "Time": f"2020-01-01T{clock}:00Z"}}


def monthly(day: int, clock: str) -> dict[str, Any]:
    return {"Monthly": {"Day": day, "Time": f"2020-01-01T{clock}:00Z"}}


# 2026-11-29 is a Sunday.
@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        (None, "2026-11-29T10:00", None),
        ({}, "2026-11-29T10:00", None),
        ({"Immediate": True}, "2026-11-29T10:00", None),
        ({"Off": True}, "2026-11-29T10:00", None),
        ({"Interval": {"Minutes": 60}}, "2026-11-29T10:00", "2026-11-29T11:00"),
        ({"Interval": {"Minutes": 90}}, "2026-12-31T23:00", "2027-01-01T00:30"),
        (daily("08:30"), "2026-11-29T08:29", "2026-11-29T08:30"),
        (daily("08:30"), "2026-11-29T08:30", "2026-11-30T08:30"),  # strictly after
        (daily("23:59"), "2026-12-31T23:59", "2027-01-01T23:59"),
        # The time of day is what counts; the date of Time does not, nor its seconds.
        ({"Daily": {"Time": "2031-05-05T06:15:42Z"}}, "2026-11-29T07:00", "2026-11-30T06:15"),
        # An offset in Time is converted to UTC.
        ({"Daily": {"Time": "2026-01-01T09:30:00+02:00"}}, "2026-11-29T08:00", "2026-11-30T07:30"),
        (weekly([1, 3, 5], "13:30"), "2026-11-29T10:00", "2026-11-30T13:30"),  # Sunday → Monday
        (weekly([1, 3, 5], "13:30"), "2026-12-04T13:30", "2026-12-07T13:30"),  # Friday → next Monday
        (weekly([0], "08:00"), "2026-11-29T08:00", "2026-12-06T08:00"),  # the same day, a week later
        (weekly([6], "23:00"), "2026-12-31T00:00", "2027-01-02T23:00"),  # over the year end
        (weekly([0, 6], "00:00"), "2026-12-05T00:00", "2026-12-06T00:00"),  # Saturday → Sunday wraps
        (weekly(["Sunday", "wednesday"], "08:00"), "2026-11-30T08:00", "2026-12-02T08:00"),
        (monthly(15, "08:00"), "2026-11-15T07:59", "2026-11-15T08:00"),
        (monthly(15, "08:00"), "2026-11-15T08:00", "2026-12-15T08:00"),
        (monthly(15, "08:00"), "2026-12-20T00:00", "2027-01-15T08:00"),  # over the year end
        (monthly(31, "08:00"), "2026-11-01T00:00", "2026-11-30T08:00"),  # November has 30 days
        (monthly(31, "08:00"), "2026-11-30T08:00", "2026-12-31T08:00"),
        (monthly(31, "12:00"), "2027-02-01T00:00", "2027-02-28T12:00"),
        (monthly(30, "12:00"), "2028-02-01T00:00", "2028-02-29T12:00"),  # leap year
        (monthly(29, "12:00"), "2028-02-29T12:00", "2028-03-29T12:00"),
        (monthly(29, "12:00"), "2100-02-01T00:00", "2100-02-28T12:00"),  # 2100 is not a leap year
        (monthly(1, "00:00"), "2026-12-31T23:59", "2027-01-01T00:00"),
        ({"ExactlyOnce": {"Time": "2026-12-01T08:30:00Z"}}, "2026-11-29T10:00", "2026-12-01T08:30"),
        ({"ExactlyOnce": {"Time": "2026-12-01T08:30:00Z"}}, "2026-12-01T08:30", None),  # it ran
        ({"exactlyonce": {"time": "2026-12-01T08:30:00Z"}}, "2026-11-29T10:00", "2026-12-01T08:30"),
    ],
)
def test_next_run_after(schedule: dict[str, Any] | None, after: str, expected: str | None) -> None:
    assert next_run_after(schedule, at(after)) == (at(expected) if expected else None)


def test_next_run_after_takes_naive_times_as_utc() -> None:
    assert next_run_after({"Interval": {"Minutes": 5}}, datetime(2026, 1, 1)) == at("2026-01-01T00:05")


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, None),
        ({"Immediate": True}, None),
        ({"Interval": {"Minutes": 60}}, "I_60"),
        (daily("08:05"), "D_08:05"),
        (weekly([1, 3, 5], "13:30"), "W_246_13:30"),  # the agent counts 1 = Sunday
        (weekly([6, 0, 0], "00:00"), "W_17_00:00"),
        (monthly(31, "23:45"), "M_31_23:45"),
        ({"ExactlyOnce": {"Time": "2026-12-01T08:30:59Z"}}, "O_2026-12-01T08:30"),
    ],
)
def test_agent_schedule(schedule: dict[str, Any] | None, expected: str | None) -> None:
    assert schedule_type(schedule) == expected


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"Immediate": True}, "2026-11-29T10:00"),
        ({"Interval": {"Minutes": 60}}, "2026-11-29T10:00"),
        (daily("10:00"), "2026-11-29T10:00"),  # due at once when now is the time
        (daily("09:00"), "2026-11-30T09:00"),
        ({"Daily": {"Time": "2026-12-24T09:00:00Z"}}, "2026-12-24T09:00"),  # Time is the first run
        ({"Weekly": {"Days": [1], "Time": "2026-12-24T09:00:00Z"}}, "2026-12-28T09:00"),  # the Monday after
        ({"ExactlyOnce": {"Time": "2026-12-01T08:30:00Z"}}, "2026-12-01T08:30"),
        ({"ExactlyOnce": {"Time": "2026-01-01T08:30:00Z"}}, "2026-11-29T10:00"),  # passed: now
        ({"Off": True}, None),
    ],
)
def test_first_run_at(schedule: dict[str, Any], expected: str | None) -> None:
    assert first_run_at(schedule, at("2026-11-29T10:00")) == (at(expected) if expected else None)


@pytest.mark.parametrize(
    "schedule",
    [
        {"Interval": {"Minutes": 0}},
        {"Interval": {"Minutes": "60"}},
        {"Interval": {}},
        {"Daily": {"Time": "half past eight"}},
        {"Daily": {}},
        {"Weekly": {"Days": [], "Time": "2026-01-01T08:00:00Z"}},
        {"Weekly": {"Days": [7], "Time": "2026-01-01T08:00:00Z"}},
        {"Monthly": {"Day": 0, "Time": "2026-01-01T08:00:00Z"}},
        {"Monthly": {"Day": 32, "Time": "2026-01-01T08:00:00Z"}},
        {"Hourly": {"Minutes": 5}},
        {"Interval": {"Minutes": 5}, "Daily": {"Time": "2026-01-01T08:00:00Z"}},
        {"Daily": "08:00"},
    ],
)
def test_malformed_schedules_are_refused(schedule: dict[str, Any]) -> None:
    with pytest.raises(ScheduleError):
        next_run_after(schedule, at("2026-11-29T10:00"))
    with pytest.raises(ScheduleError):
        schedule_type(schedule)


def test_one_schedule_type_encoding_history_queries_and_orchestrators_share() -> None:
    # The compact form is ScheduleType in history and scheduled jobs, and what orchestrators are handed.
    assert schedule_type({"Interval": {"Minutes": 60}}) == "I_60"
    assert schedule_type({"Daily": {"Time": "2025-01-01T08:30:00Z"}}) == "D_08:30"
    assert schedule_type({"Weekly": {"Days": ["Monday", 3], "Time": "2025-01-01T08:30:00Z"}}) == "W_24_08:30"
    assert schedule_type({"Immediate": True}) is None


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, {"Immediate": True}),
        ({"immediate": True}, {"Immediate": True}),
        ({"Interval": {"minutes": 15}}, {"Interval": {"Minutes": 15}}),
        ({"Daily": {"Time": "2026-01-01T08:30:00+02:00"}}, {"Daily": {"Time": "2026-01-01T06:30:00Z"}}),
        (
            {"Weekly": {"Days": ["Saturday", "monday", 3, 1], "Time": "2026-01-01T08:30:00Z"}},
            {"Weekly": {"Days": [1, 3, 6], "Time": "2026-01-01T08:30:00Z"}},
        ),
        (
            {"Monthly": {"Day": 31, "Time": "2026-01-01T08:30Z"}},
            {"Monthly": {"Day": 31, "Time": "2026-01-01T08:30:00Z"}},
        ),
        ({"ExactlyOnce": {"Time": "2026-12-01T08:30:00"}}, {"ExactlyOnce": {"Time": "2026-12-01T08:30:00Z"}}),
        ({"Immediate": None, "Interval": {"Minutes": 5}}, {"Interval": {"Minutes": 5}}),
    ],
)
def test_canonical_schedules(schedule: Any, expected: dict[str, Any]) -> None:
    assert canonical_schedule(schedule) == expected


@pytest.mark.parametrize(
    "schedule",
    [
        {},
        {"Immediate": False},
        {"Interval": {"Minutes": 5}, "Daily": {"Time": "2026-01-01T08:00:00Z"}},
        {"Interval": {"Minutes": 0}},
        {"Interval": {"Minutes": -5}},
        {"Interval": {"Minutes": 2**31}},
        {"Weekly": {"Days": [7], "Time": "2026-01-01T08:00:00Z"}},
        {"Weekly": {"Days": [-1], "Time": "2026-01-01T08:00:00Z"}},
        {"Weekly": {"Days": ["Caturday"], "Time": "2026-01-01T08:00:00Z"}},
        {"Monthly": {"Day": 0, "Time": "2026-01-01T08:00:00Z"}},
        {"Monthly": {"Day": 32, "Time": "2026-01-01T08:00:00Z"}},
        {"Daily": {"Time": "08:30"}},
        {"ExactlyOnce": {"Time": "1 December 2026"}},
        {"Off": True},
        [{"Immediate": True}],
        "Immediate",
    ],
)
def test_malformed_or_empty_schedules_are_refused(schedule: Any) -> None:
    with pytest.raises(ScheduleError):
        canonical_schedule(schedule)


def test_off_is_a_schedule_only_where_it_is_allowed() -> None:
    assert canonical_schedule({"Off": True}, allow_off=True) == {"Off": True}
