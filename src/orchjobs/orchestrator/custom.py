"""Custom jobs: the small interface a handler for a custom job type implements, and the registry of them.

A custom job type `RebootServer` is the capability `Custom.RebootServer`. Its handler is a plain function:

    def reboot(fields: JobFields, context: CustomJobContext) -> CustomJobOutcome:
        ...
        return CustomJobOutcome(JobResult.SUCCESS, "Rebooted.", data={"Uptime": 0})

It gets the job's fields as the server sent them and returns a result, a message and result data (a string, or a
JSON value sent as its JSON text), which the orchestrator uploads as the completion's `Data`. An exception is a
Failure with its message. Without a handler of its own a custom job type runs `echo_fields`.
docs/custom-jobs.md is the user's guide.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from orchjobs.domain.capabilities import FETCH_LOGS
from orchjobs.domain.jobs import JobResult

__all__ = [
    "CustomJobContext",
    "CustomJobHandler",
    "CustomJobOutcome",
    "CustomJobType",
    "CustomJobTypes",
    "DEFAULT_MAX_DATA_BYTES",
    "JobFields",
    "JobResult",
    "JsonValue",
    "echo_fields",
]

# What the server accepts by default (its ORCHJOBS_MAX_JOB_DATA_BYTES); `--max-data-bytes` follows a server
# configured otherwise.
DEFAULT_MAX_DATA_BYTES = 2 * 1024 * 1024
CUSTOM_PREFIX = "Custom."
MAX_NAME = 255 - len(CUSTOM_PREFIX)  # the server takes capabilities of up to 255 characters
# Characters a name cannot hold: `.` separates a capability's parts, `,` the environment's list, `=` and `:` the
# `--capability NAME=module:function` syntax.
_RESERVED = frozenset(".,=:")
_OUTCOME_RESULTS = (JobResult.SUCCESS, JobResult.WARNING, JobResult.FAILURE)

JsonValue: TypeAlias = "str | int | float | bool | None | list[JsonValue] | dict[str, JsonValue]"
JobFields: TypeAlias = dict[str, JsonValue]
"""A custom job's `JobFields`: field name → value, as the server sent them (Command sends most values as strings)."""


@dataclass(frozen=True)
class CustomJobContext:
    """What a handler may know about its run besides the fields."""

    job_type: str  # the custom job type's name, e.g. RebootServer
    job_id: str  # the scheduled job's id (JobId)
    store_dir: Path  # the orchestrator's store directory
    log_path: Path  # the orchestrator's log, which FetchLogs returns
    logger: logging.Logger  # logs into that log


@dataclass(frozen=True)
class CustomJobOutcome:
    """A run's result (JobHistory's `Result`), its message, and its result data (None uploads no `Data`)."""

    result: JobResult = JobResult.SUCCESS
    message: str = ""
    data: JsonValue = None

    def __post_init__(self) -> None:
        # Checked here so a wrong outcome fails the run with a message, at the handler's line.
        if self.result not in _OUTCOME_RESULTS:
            raise ValueError(f"A custom job's result is Success, Warning or Failure, not {self.result!r}.")
        object.__setattr__(self, "result", JobResult(self.result))  # 2, 3 and 4 are taken as well
        if not isinstance(self.message, str):
            raise TypeError(f"A custom job's message is a string, not {type(self.message).__name__}.")


CustomJobHandler: TypeAlias = Callable[[JobFields, CustomJobContext], CustomJobOutcome]
"""Called as `handler(fields, context)`; positional, so a handler may name its parameters as it likes."""


def echo_fields(fields: JobFields, context: CustomJobContext) -> CustomJobOutcome:
    """The default handler: the job's fields are its result data, so a caller can see them round-trip."""
    return CustomJobOutcome(JobResult.SUCCESS, data=fields)


@dataclass(frozen=True)
class CustomJobType:
    """A custom job type this orchestrator reports (as `Custom.<name>`) and the handler that runs its jobs."""

    name: str
    handler: CustomJobHandler = echo_fields

    def __post_init__(self) -> None:
        problem = name_problem(self.name)
        if problem:
            raise ValueError(problem)

    @property
    def capability(self) -> str:
        return CUSTOM_PREFIX + self.name


def name_problem(name: str) -> str:
    """Why `name` cannot be a custom job type this orchestrator reports, or ""."""
    if not name.strip():
        return "A custom job type needs a name."
    if any(char.isspace() or char in _RESERVED for char in name):
        return f"The custom job type name {name!r} holds a space or one of . , = : (Command's names hold none)."
    if len(name) > MAX_NAME:
        return f"The custom job type name {name[:20]!r}… is {len(name)} characters long; at most {MAX_NAME}."
    if (CUSTOM_PREFIX + name).lower() == FETCH_LOGS.lower():
        return "FetchLogs is built in: every orchestrator reports it and runs it itself."
    return ""


class CustomJobTypes:
    """The custom job types of one orchestrator by name, compared case-insensitively as capabilities are."""

    def __init__(self, job_types: Iterable[CustomJobType] = ()) -> None:
        self._by_name: dict[str, CustomJobType] = {}
        for job_type in job_types:
            known = self._by_name.setdefault(job_type.name.lower(), job_type)
            if known.handler is not job_type.handler:
                raise ValueError(f"The custom job type {job_type.name} is given twice, with different handlers.")

    def __iter__(self) -> Iterator[CustomJobType]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def handler(self, name: str) -> CustomJobHandler:
        """The handler of the job type `name`; `echo_fields` for one reported without a handler of its own."""
        known = self._by_name.get(name.lower())
        return known.handler if known else echo_fields

    @property
    def capabilities(self) -> list[str]:
        return [job_type.capability for job_type in self]


def job_type_name(capability: str) -> str:
    """`RebootServer` for `Custom.RebootServer`."""
    return capability[len(CUSTOM_PREFIX) :] if capability.lower().startswith(CUSTOM_PREFIX.lower()) else capability
