"""What an operator may do with a scheduled job: reschedule the job of a failed run, unschedule a job.

Command's documentation (keyfactor-api.md §3.7, §3.8) sets the rules: a run can be rescheduled when it failed for
good (Result Failure, Status Completed or Acknowledged) and its job is a store job other than Inventory, or a custom
job scheduled Weekly or Monthly; never FetchLogs. Every job can be unscheduled but a certificate store's Inventory,
which follows the store's schedule. The store turns the same constants into SQL for requests by query; the
functions here say, for requests by id, why an item is refused.
"""

from dataclasses import dataclass

from orchjobs.domain.jobs import JobKind, JobResult, JobStatus, job_kind

RESCHEDULABLE_RESULTS: frozenset[int] = frozenset({JobResult.FAILURE})
RESCHEDULABLE_STATUSES: frozenset[int] = frozenset({JobStatus.COMPLETED, JobStatus.ACKNOWLEDGED})
# Job kinds never rescheduled: Inventory follows its store's schedule, FetchLogs is scheduled anew.
NOT_RESCHEDULABLE_KINDS: frozenset[JobKind] = frozenset({JobKind.INVENTORY, JobKind.FETCH_LOGS})
# The compact schedule forms (domain.schedules.schedule_type) under which a custom job may be rescheduled.
CUSTOM_RESCHEDULABLE_FORMS: tuple[str, ...] = ("W_", "M_")
NOT_UNSCHEDULABLE_KINDS: frozenset[JobKind] = frozenset({JobKind.INVENTORY})


def kind_names(kinds: frozenset[JobKind]) -> list[str]:
    """The lower-case job-type names of `kinds`, as `job_kind` matches them (for SQL)."""
    return sorted(kind.value.lower() for kind in kinds)


@dataclass(frozen=True)
class JobFacts:
    """What the rules need of a scheduled job: its type, whether that is a custom (operator-defined) type, its
    schedule's compact form (None: Immediate), and whether a run of it is in flight."""

    job_type: str
    is_custom: bool
    schedule_type: str | None
    in_flight: bool


def can_reschedule_job(*, job_type: str, is_custom: bool, schedule_type: str | None) -> bool:
    """Whether a job of this type and schedule may be rescheduled at all (its run aside)."""
    if job_kind(job_type) in NOT_RESCHEDULABLE_KINDS:
        return False
    return not is_custom or (schedule_type or "").startswith(CUSTOM_RESCHEDULABLE_FORMS)


def reschedule_refusal(*, status: int, result: int, job: JobFacts | None) -> str | None:
    """Why a run cannot be rescheduled by id (None: it can). `job` is its scheduled job, None when that is gone."""
    run_refusal = _run_refusal(status=status, result=result)
    if run_refusal:
        return run_refusal
    if job is None:
        return "Its job no longer exists (it ended, was unscheduled or its orchestrator was reset); schedule a new job."
    kind = job_kind(job.job_type)
    if kind is JobKind.INVENTORY:
        return "Inventory jobs cannot be rescheduled; change the certificate store's inventory schedule instead."
    if kind is JobKind.FETCH_LOGS:
        return "FetchLogs jobs cannot be rescheduled; schedule a new one instead."
    if not can_reschedule_job(job_type=job.job_type, is_custom=job.is_custom, schedule_type=job.schedule_type):
        return "Custom jobs can be rescheduled only when scheduled Weekly or Monthly; schedule a new job instead."
    if job.in_flight:
        return "Its job is running now; reschedule it once that run has ended."
    return None


def _run_refusal(*, status: int, result: int) -> str | None:
    if status in RESCHEDULABLE_STATUSES and result in RESCHEDULABLE_RESULTS:
        return None
    if status == JobStatus.WAITING:
        return "The job is waiting to run and cannot be rescheduled."
    if status == JobStatus.IN_PROCESS:
        return "The job is in process and cannot be rescheduled."
    if status == JobStatus.COMPLETED_WILL_RETRY:
        return "The run failed and will be retried; it can be rescheduled once its retries have failed too."
    if result == JobResult.SUCCESS:
        return "The job completed successfully and cannot be rescheduled."
    return "Only runs with a result of Failure and a status of Completed or Acknowledged can be rescheduled."


def unschedule_refusal(*, job_type: str) -> str | None:
    """Why a scheduled job cannot be unscheduled (None: it can)."""
    if job_kind(job_type) in NOT_UNSCHEDULABLE_KINDS:
        return (
            "Inventory jobs cannot be unscheduled; change or turn off the certificate store's inventory schedule "
            "(POST /CertificateStores/Schedule) instead."
        )
    return None
