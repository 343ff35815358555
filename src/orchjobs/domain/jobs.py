"""Job-history enums and the rules that decide what an operator may do with a run.

The integer values are Command's wire values (keyfactor-api.md §3.9) and must never change.
"""

from enum import IntEnum


class JobStatus(IntEnum):
    """Where a run is in its lifecycle (Command's OrchestratorJobStatusJobStatus)."""

    UNKNOWN = 0
    WAITING = 1
    IN_PROCESS = 2
    COMPLETED = 3
    ACKNOWLEDGED = 4
    COMPLETED_WILL_RETRY = 5


class JobResult(IntEnum):
    """The outcome of a run. Value 1 exists in Command's schema but is undocumented."""

    UNKNOWN = 0
    IN_PROCESS = 1
    SUCCESS = 2
    WARNING = 3
    FAILURE = 4


class AgentStatus(IntEnum):
    """Approval state of an orchestrator."""

    NEW = 1
    APPROVED = 2
    DISAPPROVED = 3


class AgentPlatform(IntEnum):
    """The platform an orchestrator reports (v11 numbering)."""

    UNKNOWN = 0
    DOTNET = 1
    JAVA = 2
    MAC = 3
    ANDROID = 4
    NATIVE = 5
    BASH = 6
    UNIVERSAL_ORCHESTRATOR = 7


# Names accepted in queries for enum values, besides the integers. Command's own
# spellings first; the Python member names are accepted too (case-insensitively).
STATUS_NAMES: dict[str, int] = {
    "unknown": 0,
    "waiting": 1,
    "inprocess": 2,
    "completed": 3,
    "acknowledged": 4,
    "completedwillretry": 5,
}
RESULT_NAMES: dict[str, int] = {
    "unknown": 0,
    "inprocess": 1,
    "success": 2,
    "warning": 3,
    "failure": 4,
    "failed": 4,
}

ACKNOWLEDGEABLE_RESULTS: frozenset[int] = frozenset({JobResult.WARNING, JobResult.FAILURE})
ACKNOWLEDGEABLE_STATUSES: frozenset[int] = frozenset({JobStatus.COMPLETED, JobStatus.COMPLETED_WILL_RETRY})


def is_acknowledgeable(*, status: int, result: int) -> bool:
    """A run can be acknowledged when it finished with a warning or a failure."""
    return status in ACKNOWLEDGEABLE_STATUSES and result in ACKNOWLEDGEABLE_RESULTS


def acknowledge_refusal(*, status: int, result: int) -> str | None:
    """Why a run cannot be acknowledged by id, or None when acknowledging it is allowed (or a no-op)."""
    if status == JobStatus.ACKNOWLEDGED or is_acknowledgeable(status=status, result=result):
        return None
    if status == JobStatus.WAITING:
        return "The job is waiting to run and cannot be acknowledged."
    if status == JobStatus.IN_PROCESS:
        return "The job is in process and cannot be acknowledged."
    if result == JobResult.SUCCESS:
        return "The job completed successfully and cannot be acknowledged."
    return (
        "Only jobs with a result of Warning or Failure and a status of Completed or "
        "CompletedWillRetry can be acknowledged."
    )
