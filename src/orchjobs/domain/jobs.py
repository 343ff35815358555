"""Job-history enums and the rules that decide what an operator may do with a run.

The integer values are Command's wire values (keyfactor-api.md §3.9) and must never change.
"""

from dataclasses import dataclass
from enum import IntEnum, StrEnum

# The longest acknowledgement Note an operator may write, and the longest Message a completion may report: text an
# operator reads, kept on every run it concerns (a Note on each acknowledged run).
MAX_NOTE_LENGTH = 4000
MAX_MESSAGE_LENGTH = 32768


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


class JobKind(StrEnum):
    """How the orchestrator protocol configures a run: the store jobs it knows, Discovery (an orchjobs definition,
    docs/orchestrator-protocol.md), FetchLogs, or a custom job."""

    INVENTORY = "Inventory"
    MANAGEMENT = "Management"
    REENROLLMENT = "Reenrollment"
    DISCOVERY = "Discovery"
    FETCH_LOGS = "FetchLogs"
    CUSTOM = "Custom"


def job_kind(job_type: str) -> JobKind:
    """The kind of a job type, by its name in any case; every other job type is configured as a custom job, with
    its fields."""
    for kind in JobKind:
        if job_type.lower() == kind.value.lower():
            return kind
    return JobKind.CUSTOM


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
# A run in flight was handed out and not yet closed; its job is not handed out again until it is.
IN_FLIGHT_STATUSES: frozenset[int] = frozenset({JobStatus.WAITING, JobStatus.IN_PROCESS})
# The results an orchestrator may complete a run with.
COMPLETION_RESULTS: frozenset[int] = frozenset({JobResult.SUCCESS, JobResult.WARNING, JobResult.FAILURE})


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


def with_run_note(message: str | None, run_note: str | None) -> str | None:
    """A completion's message followed by what its run noted while in flight (refused discovery locations), which
    the orchestrator's message does not know of."""
    if not run_note:
        return message
    return f"{message} {run_note}" if message else run_note


def failure_count_query(age_out_days: int) -> str:
    """The failure count of the job-history page: acknowledgeable runs within the age-out window, written in the
    query language so that the list can show exactly the rows the count counts."""
    results = " OR ".join(f"Result -eq {result}" for result in sorted(ACKNOWLEDGEABLE_RESULTS))
    statuses = " OR ".join(f"Status -eq {status}" for status in sorted(ACKNOWLEDGEABLE_STATUSES))
    return f'({results}) AND ({statuses}) AND OperationStart -ge "%TODAY-{age_out_days}%"'


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed run is retried, and after how long (the JobRetries and JobRetryDelay settings)."""

    retries: int
    delay_minutes: int

    def retries_after(self, *, result: int, retry_count: int) -> bool:
        """Whether a run that closes with `result` is retried: a failure, while its job has retries left."""
        return result == JobResult.FAILURE and retry_count < self.retries


NO_RETRIES = RetryPolicy(retries=0, delay_minutes=0)
