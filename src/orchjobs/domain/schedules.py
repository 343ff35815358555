"""Command's KeyfactorSchedule and the ScheduleType code that history rows are queried by."""

from typing import Any

# ScheduleType query values (query-and-lifecycle.md A1.4): no code for Immediate.
SCHEDULE_PREFIXES: dict[str, str] = {
    "Interval": "I_",
    "Daily": "D_",
    "Weekly": "W_",
    "Monthly": "M_",
    "ExactlyOnce": "O_",
}


def schedule_type_code(schedule: dict[str, Any] | None) -> str | None:
    """The encoded ScheduleType of a schedule, e.g. `I_60` for every 60 minutes; None when Immediate."""
    if not schedule:
        return None
    for kind, prefix in SCHEDULE_PREFIXES.items():
        spec = schedule.get(kind)
        if not spec:
            continue
        if kind == "Interval":
            return f"{prefix}{spec['Minutes']}"
        if kind == "Weekly":
            days = "".join(str(d) for d in sorted(spec.get("Days", [])))
            return f"{prefix}{days}_{_hhmm(spec['Time'])}"
        if kind == "Monthly":
            return f"{prefix}{spec['Day']}_{_hhmm(spec['Time'])}"
        return f"{prefix}{_hhmm(spec['Time'])}" if kind == "Daily" else f"{prefix}{spec['Time']}"
    return None


def _hhmm(time_value: str) -> str:
    """`2025-01-01T08:30:00Z` → `0830`; the time of day is what a recurring schedule keeps."""
    clock = time_value.split("T", 1)[-1]
    return clock[0:2] + clock[3:5]
