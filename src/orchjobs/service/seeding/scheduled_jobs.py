"""Scheduled jobs: an inventory schedule per certificate store, and some management, discovery, re-enrollment and
custom jobs; their next runs come from `domain.schedules`, as for a job scheduled through the API."""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from orchjobs.domain.jobs import AgentStatus
from orchjobs.domain.schedules import next_run_after
from orchjobs.service.seeding.fleet import _Agent, _Job, _Store, _uuid
from orchjobs.service.seeding.history import HISTORY_DAYS
from orchjobs.service.seeding.vocabulary import CUSTOM_JOB_TYPES, DISCOVERABLE_STORE_TYPES


def _make_jobs(rng: random.Random, agents: Sequence[_Agent], stores: Sequence[_Store], now: datetime) -> list[_Job]:
    jobs = [_inventory_job(rng, store, now) for store in stores]
    for store in stores:
        if rng.random() < 0.25:
            jobs.append(_once_job(rng, store.agent, "Management", "Management", store, now))
        if store.store_type in DISCOVERABLE_STORE_TYPES and rng.random() < 0.10:
            jobs.append(_once_job(rng, store.agent, "Reenrollment", "Reenrollment", store, now))
    working = [a for a in agents if a.status != AgentStatus.NEW]
    for owner in working:
        if rng.random() < 0.20:
            jobs.append(_discovery_job(rng, owner, now))
        jobs += [_custom_job(rng, owner, name, now) for name in CUSTOM_JOB_TYPES if name in owner.capabilities]
        if rng.random() < 0.05:
            jobs.append(_once_job(rng, owner, "FetchLogs", "Custom", None, now))
    return jobs + _missing_kinds(rng, jobs, working, stores, now)


def _missing_kinds(
    rng: random.Random,
    jobs: Sequence[_Job],
    working: Sequence[_Agent],
    stores: Sequence[_Store],
    now: datetime,
) -> list[_Job]:
    """One job of each kind the random draws left out, so history always covers every kind."""
    if not stores:
        return []
    kinds = {job.kind for job in jobs}
    extra = []
    if "Management" not in kinds:
        extra.append(_once_job(rng, stores[0].agent, "Management", "Management", stores[0], now))
    if "Reenrollment" not in kinds:
        extra.append(_once_job(rng, stores[0].agent, "Reenrollment", "Reenrollment", stores[0], now))
    if "Discovery" not in kinds:
        extra.append(_discovery_job(rng, working[0], now))
    if "Custom" not in kinds:
        extra.append(_custom_job(rng, working[0], next(iter(CUSTOM_JOB_TYPES)), now))
    return extra


def _inventory_job(rng: random.Random, store: _Store, now: datetime) -> _Job:
    if rng.random() < 0.7:
        minutes = rng.choice((60, 120, 240, 360, 720))
        next_run = now + timedelta(seconds=rng.randint(1, minutes * 60))
        schedule: dict[str, Any] = {"Interval": {"Minutes": minutes}}
    else:
        hour, minute = rng.randint(0, 23), rng.choice((0, 15, 30, 45))
        next_run = _next_run({"Daily": {"Time": _time_of_day(hour, minute)}}, now)
        schedule = {"Daily": {"Time": _iso(next_run)}}
    return _job(rng, store.agent, "Inventory", "Inventory", store, schedule, store.path, None, now, next_run)


def _once_job(
    rng: random.Random, owner: _Agent, type_name: str, kind: str, store: _Store | None, now: datetime
) -> _Job:
    """Management, re-enrollment and log jobs run once: immediately or at a set time."""
    if rng.random() < 0.5:
        schedule: dict[str, Any] | None = {"Immediate": True}
        next_run = now
    else:
        next_run = now + timedelta(minutes=rng.randint(10, 7 * 24 * 60))
        schedule = {"ExactlyOnce": {"Time": _iso(next_run)}}
    target = store.path if store else None
    return _job(rng, owner, type_name, kind, store, schedule, target, None, now, next_run)


def _discovery_job(rng: random.Random, owner: _Agent, now: datetime) -> _Job:
    days = sorted(rng.sample(range(7), rng.randint(1, 2)))
    next_run = _next_run({"Weekly": {"Days": days, "Time": _time_of_day(rng.randint(0, 5))}}, now)
    schedule = {"Weekly": {"Days": days, "Time": _iso(next_run)}}
    target = "C:\\,D:\\" if owner.os == "windows" else "/etc,/opt,/usr/local"
    return _job(rng, owner, "Discovery", "Discovery", None, schedule, target, None, now, next_run)


def _custom_job(rng: random.Random, owner: _Agent, type_name: str, now: datetime) -> _Job:
    day, hour = rng.randint(1, 27), rng.randint(0, 23)
    next_run = _next_run({"Monthly": {"Day": day, "Time": _time_of_day(hour)}}, now)
    schedule: dict[str, Any] = {"Monthly": {"Day": next_run.day, "Time": _iso(next_run)}}
    fields = {
        name: default if default is not None else f"partition-{rng.randint(1, 4)}"
        for name, _kind, default, _required in CUSTOM_JOB_TYPES[type_name][1]
    }
    return _job(rng, owner, type_name, "Custom", None, schedule, None, fields, now, next_run)


def _job(
    rng: random.Random,
    owner: _Agent,
    type_name: str,
    kind: str,
    store: _Store | None,
    schedule: dict[str, Any] | None,
    target_path: str | None,
    fields: dict[str, str] | None,
    now: datetime,
    next_run: datetime,
) -> _Job:
    # Requested before the history window opens, so every history row postdates its job.
    requested = now - timedelta(days=HISTORY_DAYS, seconds=rng.randint(3600, 300 * 86400))
    return _Job(_uuid(rng), owner, type_name, kind, store, schedule, target_path, fields, requested, next_run)


def _next_run(recurring: dict[str, Any], now: datetime) -> datetime:
    """The first run after `now` of a Daily, Weekly or Monthly schedule, which always has one."""
    next_run = next_run_after(recurring, now)
    if next_run is None:
        raise AssertionError(f"a recurring schedule runs again: {recurring}")
    return next_run


def _time_of_day(hour: int, minute: int = 0) -> str:
    """A schedule Time for `hour`:`minute` UTC; recurring schedules keep only the time of day, so the date is moot."""
    return f"2000-01-01T{hour:02d}:{minute:02d}:00Z"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
