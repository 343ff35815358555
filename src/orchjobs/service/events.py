"""What an orchestrator did, for the operator: one INFO line per protocol event (logger `orchjobs.events`) and the
job counters /metrics serves. Also who the current request is for, so that its request log line can name the user
or orchestrator: the request's middleware opens a `Caller` in a context variable and the code that authenticates
fills it in (a context variable reaches the threadpool, and the middleware holds the same object)."""

import logging
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client import Counter

log = logging.getLogger("orchjobs.events")

JOBS_DISPATCHED = Counter("orchjobs_jobs_dispatched", "Runs handed out to orchestrators.", ["job_type"])
JOBS_COMPLETED = Counter(
    "orchjobs_jobs_completed",
    "Runs an orchestrator completed, by result (success, warning, failure).",
    ["job_type", "result"],
)
JOBS_FAILED = Counter("orchjobs_jobs_failed", "Runs an orchestrator completed with a failure.", ["job_type"])
PROTOCOL_REFUSALS = Counter("orchjobs_protocol_refusals", "Orchestrator calls refused, by call.", ["call"])


@dataclass
class Caller:
    """Who the current request turned out to be: a user (Basic or bearer), or an orchestrator (its AgentId)."""

    user: str | None = None
    agent_id: uuid.UUID | None = None


_caller: ContextVar[Caller | None] = ContextVar("orchjobs_caller", default=None)


def open_caller() -> tuple[Caller, object]:
    """A fresh Caller for a request, and the token `close_caller` takes when the request is over."""
    caller = Caller()
    return caller, _caller.set(caller)


def close_caller(token: object) -> None:
    _caller.reset(token)  # type: ignore[arg-type]


def note_user(name: str) -> None:
    caller = _caller.get()
    if caller is not None:
        caller.user = name


def note_agent(agent_id: uuid.UUID) -> None:
    caller = _caller.get()
    if caller is not None:
        caller.agent_id = agent_id


def registered(agent_id: uuid.UUID, client_machine: str, *, status: str, identity: str) -> None:
    note_agent(agent_id)
    log.info(
        "orchestrator registered agent=%s machine=%r status=%s identity=%s", agent_id, client_machine, status, identity
    )


def registration_refused(client_machine: str, *, identity: str, reason: str) -> None:
    log.info("orchestrator registration refused machine=%r identity=%s reason=%r", client_machine, identity, reason)


def approval_changed(action: str, agent_ids: Sequence[uuid.UUID]) -> None:
    """`approved`, `disapproved` or `reset`, one line per orchestrator, naming the user of the request."""
    if not log.isEnabledFor(logging.INFO):
        return
    caller = _caller.get()
    by = caller.user if caller is not None and caller.user else "-"
    for agent_id in agent_ids:
        log.info("orchestrator %s agent=%s by=%s", action, agent_id, by)


def handed_out(agent_id: uuid.UUID, client_machine: str, *, job_id: uuid.UUID, job_type: str) -> None:
    JOBS_DISPATCHED.labels(job_type).inc()
    log.info("job handed out agent=%s machine=%r job=%s type=%s", agent_id, client_machine, job_id, job_type)


def completed(agent_id: uuid.UUID, *, job_id: uuid.UUID, job_type: str, result: str, audit_id: int) -> None:
    JOBS_COMPLETED.labels(job_type, result).inc()
    if result == "failure":
        JOBS_FAILED.labels(job_type).inc()
    log.info(
        "job completed agent=%s job=%s type=%s audit_id=%s result=%s", agent_id, job_id, job_type, audit_id, result
    )


def refused(call: str, *, agent_id: uuid.UUID | None, job_id: uuid.UUID | None, code: str, reason: str) -> None:
    PROTOCOL_REFUSALS.labels(call).inc()
    log.info(
        "call refused call=%s agent=%s job=%s code=%s reason=%r", call, agent_id or "-", job_id or "-", code, reason
    )
