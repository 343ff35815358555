"""Orchestrator (agent) administration: list and read agents, approve, disapprove, reset,
schedule FetchLogs, and request or require a new client-authentication certificate.

Bulk actions are all or nothing: an unknown id refuses the whole request (a FailedOperation per
unknown id) and nothing changes. Each action is one transaction whose statements each address all
of the request's agents at once.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

from sqlalchemy import ColumnElement, Connection, Engine, Row

from orchjobs.domain.capabilities import FETCH_LOGS
from orchjobs.domain.jobs import AgentStatus
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.query import compile_where, parse
from orchjobs.query.fields import AGENT_FIELDS, AGENT_STATUS_LABELS
from orchjobs.service.history import PageRequest
from orchjobs.store import agent_admin as store
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.tables import agent

# Command's documented default for GET /Agents, ascending.
DEFAULT_SORT_FIELD = "AgentId"
# AuthCertificateReenrollment: 0 None (unset), 1 Requested, 2 Required.
REENROLLMENT_VALUES = (0, 1, 2)


@dataclass(frozen=True)
class Agent:
    """An orchestrator as the admin API shows it."""

    id: uuid.UUID
    client_machine: str
    username: str
    platform: int
    version: str
    status: int
    last_seen: datetime
    thumbprint: str | None
    legacy_thumbprint: str | None
    auth_certificate_reenrollment: int
    last_error_code: int | None
    last_error_message: str | None
    blueprint: str | None
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReenrollmentResult:
    """What SetAuthCertificateReenrollment did: the value set, and the ids that are not agents."""

    status: int
    failed_ids: list[uuid.UUID]


def agent_filter(query: str | None, *, now: datetime, max_length: int) -> ColumnElement[bool] | None:
    """The SQL condition of an Agents query string, or None for no filter. Raises QuerySyntaxError."""
    return _compiled(query or "", max_length, now.astimezone(UTC).date())


@lru_cache(maxsize=256)
def _compiled(text: str, max_length: int, today: date) -> ColumnElement[bool] | None:
    # As for history: a condition depends only on its text and the day, and kfutil repeats
    # `ClientMachine -eq "X"` for the same few machines.
    node = parse(text, max_length=max_length)
    if node is None:
        return None
    midnight = datetime.combine(today, time(), UTC)
    return compile_where(node, AGENT_FIELDS, agent.c, now=midnight, related=store.AGENT_RELATED)


def list_agents(engine: Engine, request: PageRequest, *, now: datetime, max_query_length: int) -> list[Agent]:
    """One page of agents, filtered and sorted (AgentId ascending by default), with their capabilities."""
    where = agent_filter(request.query, now=now, max_length=max_query_length)
    column = agent.c[AGENT_FIELDS.sort_column_name(request.sort_field or DEFAULT_SORT_FIELD)]
    # The id comes last so that pages never overlap, whatever the sort field.
    order = [column.desc(), agent.c.id.desc()] if request.descending else [column.asc(), agent.c.id.asc()]
    with read_transaction(engine) as conn:
        rows = store.list_agents(
            conn, where=where, order_by=order, limit=request.limit, offset=(request.page - 1) * request.limit
        )
        return _with_capabilities(conn, rows)


def get_agent(engine: Engine, *, agent_id: uuid.UUID) -> Agent:
    with read_transaction(engine) as conn:
        row = store.get_agent(conn, agent_id=agent_id)
        if row is None:
            raise _not_found(agent_id)
        return _with_capabilities(conn, [row])[0]


def approve_agents(engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int) -> None:
    """Approved orchestrators get jobs at their next session. Approving an approved one is a no-op."""
    ids = _distinct_ids(agent_ids, max_ids=max_ids)
    with write_transaction(engine) as conn:
        _refuse_unknown(conn, ids, action="approved")
        store.set_status(conn, agent_ids=ids, status=AgentStatus.APPROVED)


def disapprove_agents(engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int) -> None:
    """Disapproved orchestrators stop at once: their sessions end, and registering again is refused."""
    ids = _distinct_ids(agent_ids, max_ids=max_ids)
    with write_transaction(engine) as conn:
        _refuse_unknown(conn, ids, action="disapproved")
        store.set_status(conn, agent_ids=ids, status=AgentStatus.DISAPPROVED)
        store.delete_sessions(conn, agent_ids=ids)


def reset_agents(engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int, now: datetime) -> None:
    """Remove the agents' jobs, stores and sessions, make them New and forget their certificates."""
    ids = _distinct_ids(agent_ids, max_ids=max_ids)
    with write_transaction(engine) as conn:
        _refuse_unknown(conn, ids, action="reset")
        store.reset_agents(conn, agent_ids=ids, now=now)


def reset_agent(engine: Engine, *, agent_id: uuid.UUID, now: datetime) -> None:
    """Reset one agent; an unknown id is a 404 (the id is the resource in the path)."""
    with write_transaction(engine) as conn:
        if not store.lock_agent_statuses(conn, agent_ids=[agent_id]):
            raise _not_found(agent_id)
        store.reset_agents(conn, agent_ids=[agent_id], now=now)


def fetch_logs(engine: Engine, *, agent_id: uuid.UUID, now: datetime) -> uuid.UUID:
    """Schedule a FetchLogs job, due now, for an approved agent that can run it; returns the job id."""
    with write_transaction(engine) as conn:
        status = store.lock_agent_statuses(conn, agent_ids=[agent_id]).get(agent_id)
        if status is None:
            raise _not_found(agent_id)
        if status != AgentStatus.APPROVED:
            label = AGENT_STATUS_LABELS.get(status, str(status))
            raise InvalidRequestError(
                f"Orchestrator {agent_id} is {label}, not Approved; approve it before fetching its logs."
            )
        if not store.can_fetch_logs(conn, agent_id=agent_id):
            raise InvalidRequestError(
                f"Orchestrator {agent_id} cannot fetch logs: it did not report the {FETCH_LOGS} (or LOGS) capability."
            )
        job_type_id = store.job_type_id(conn, name=store.FETCH_LOGS_JOB_TYPE)
        if job_type_id is None:
            raise InvalidRequestError(
                "The FetchLogs job type is missing from the database; run `orchjobs migrate` to restore it."
            )
        return store.insert_immediate_job(
            conn, agent_id=agent_id, job_type_id=job_type_id, capability=FETCH_LOGS, now=now
        )


def set_auth_certificate_reenrollment(
    engine: Engine, *, agent_ids: Sequence[uuid.UUID], status: int, max_ids: int
) -> ReenrollmentResult:
    """Set AuthCertificateReenrollment (0 None, 1 Requested, 2 Required) on the known agents; unknown
    ids are reported back rather than refused, as Command's FailedOrchestratorIds does."""
    if status not in REENROLLMENT_VALUES:
        raise InvalidRequestError(f"Status must be 0 (None), 1 (Requested) or 2 (Required); got {status}.")
    ids = _distinct_ids(agent_ids, max_ids=max_ids, label="OrchestratorIds")
    with write_transaction(engine) as conn:
        known = store.lock_agent_statuses(conn, agent_ids=ids)
        if known:
            store.set_auth_certificate_reenrollment(conn, agent_ids=list(known), value=status)
    return ReenrollmentResult(status=status, failed_ids=[agent_id for agent_id in ids if agent_id not in known])


# -- helpers ---------------------------------------------------------------------------------


def _distinct_ids(
    agent_ids: Sequence[uuid.UUID], *, max_ids: int, label: str = "The list of orchestrator ids"
) -> list[uuid.UUID]:
    if not agent_ids:
        raise InvalidRequestError(f"{label} must contain at least one id.")
    ids = list(dict.fromkeys(agent_ids))
    if len(ids) > max_ids:
        raise InvalidRequestError(f"{label} may hold at most {max_ids} ids.")
    return ids


def _refuse_unknown(conn: Connection, ids: list[uuid.UUID], *, action: str) -> None:
    """Lock the agents; a FailedOperation per id that is not an agent, and nothing changes."""
    known = store.lock_agent_statuses(conn, agent_ids=ids)
    failed = [
        FailedOperation(str(agent_id), f"Orchestrator {agent_id} was not found.")
        for agent_id in ids
        if agent_id not in known
    ]
    if failed:
        raise BulkOperationError(
            f"{len(failed)} of the {len(ids)} orchestrators were not found; none was {action}.", failed
        )


def _not_found(agent_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Orchestrator {agent_id} was not found.")


def _with_capabilities(conn: Connection, rows: Sequence[Row[tuple[object, ...]]]) -> list[Agent]:
    """Agents with their capabilities, loaded for the whole page in one query."""
    capabilities = store.capabilities_of(conn, agent_ids=[row.id for row in rows])
    return [_agent(row, capabilities.get(row.id, [])) for row in rows]


def _agent(row: Row[tuple[object, ...]], capabilities: list[str]) -> Agent:
    # Sorted in Python: SQLite and PostgreSQL collate mixed case differently.
    ordered = tuple(sorted(capabilities, key=lambda name: (name.lower(), name)))
    return Agent(**row._asdict(), capabilities=ordered)
