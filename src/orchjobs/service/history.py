"""Job-history use cases: list, read result data, acknowledge and un-acknowledge, the failure count."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

from sqlalchemy import ColumnElement, Engine, Row

from orchjobs.domain.jobs import acknowledge_refusal
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.query import JOB_HISTORY_FIELDS, compile_where, parse
from orchjobs.store import app_settings
from orchjobs.store import history as store
from orchjobs.store.engine import read_transaction, single_read, write_transaction
from orchjobs.store.tables import job_history

DEFAULT_SORT_FIELD = "OperationStart"
AGE_OUT_SETTING = "JobFailuresAndWarningsAgeOut"


@dataclass(frozen=True)
class PageRequest:
    """What a list request asks for; `descending=None` means the resource's default direction."""

    query: str | None = None
    page: int = 1
    limit: int = 50
    sort_field: str | None = None
    descending: bool | None = None


@dataclass(frozen=True)
class Selection:
    """Which rows a bulk request addresses: explicit ids or a query, exactly one of them."""

    ids: Sequence[int] | None = None
    query: str | None = None

    def validate(self, *, max_ids: int) -> None:
        has_ids = self.ids is not None
        has_query = self.query is not None
        if has_ids and has_query:
            raise InvalidRequestError("Provide either JobAuditIds or Query, but not both.")
        if not has_ids and not has_query:
            raise InvalidRequestError("Either JobAuditIds or Query is required.")
        if has_ids and not self.ids:
            raise InvalidRequestError("JobAuditIds must contain at least one id.")
        if has_ids and len(self.ids or ()) > max_ids:
            raise InvalidRequestError(f"JobAuditIds may hold at most {max_ids} ids; use a Query for more.")
        if has_query and not (self.query or "").strip():
            raise InvalidRequestError("Query must not be blank.")


@dataclass(frozen=True)
class FailureCount:
    count: int
    age_out_days: int
    query: str


def history_filter(query: str | None, *, now: datetime, max_length: int) -> ColumnElement[bool] | None:
    """The SQL condition of a query string, or None for no filter. Raises QuerySyntaxError."""
    return _compiled(query or "", max_length, now.astimezone(UTC).date())


@lru_cache(maxsize=512)
def _compiled(text: str, max_length: int, today: date) -> ColumnElement[bool] | None:
    # Clients repeat the same few queries, and a condition depends only on its text and on the
    # day (%TODAY%); SQLAlchemy expressions are immutable, so one serves every request that day.
    node = parse(text, max_length=max_length)
    midnight = datetime.combine(today, time(), UTC)
    return None if node is None else compile_where(node, JOB_HISTORY_FIELDS, job_history.c, now=midnight)


def list_job_history(
    engine: Engine, request: PageRequest, *, now: datetime, max_query_length: int
) -> Sequence[Row[tuple[object, ...]]]:
    """One page of history, filtered and sorted; the id breaks ties so pages never overlap."""
    where = history_filter(request.query, now=now, max_length=max_query_length)
    field = request.sort_field or DEFAULT_SORT_FIELD
    column = job_history.c[JOB_HISTORY_FIELDS.sort_column_name(field)]
    descending = request.descending if request.descending is not None else request.sort_field is None
    order = [column.desc(), job_history.c.id.desc()] if descending else [column.asc(), job_history.c.id.asc()]
    with single_read(engine) as conn:
        return store.list_history(
            conn, where=where, order_by=order, limit=request.limit, offset=(request.page - 1) * request.limit
        )


def count_job_history(engine: Engine, *, query: str | None, now: datetime, max_query_length: int) -> int:
    where = history_filter(query, now=now, max_length=max_query_length)
    with single_read(engine) as conn:
        return store.count_history(conn, where=where)


def get_job_result_data(engine: Engine, *, job_history_id: int) -> str:
    """The data a custom or FetchLogs job uploaded for this run ("" when it uploaded none)."""
    with read_transaction(engine) as conn:
        exists, data = store.get_result_data(conn, job_history_id=job_history_id)
    if not exists:
        raise NotFoundError(f"Job history entry {job_history_id} was not found.")
    return data or ""


def acknowledge_jobs(
    engine: Engine,
    selection: Selection,
    *,
    user: str,
    note: str | None,
    now: datetime,
    max_ids: int,
    max_query_length: int,
) -> int:
    """Acknowledge failed and warning runs; returns how many changed. All or nothing for ids."""
    selection.validate(max_ids=max_ids)
    if selection.ids is None:
        where = history_filter(selection.query, now=now, max_length=max_query_length)
        with write_transaction(engine) as conn:
            return store.acknowledge_history(conn, where=where, acknowledged_by=user, note=note, at=now)
    ids = list(dict.fromkeys(selection.ids))
    with write_transaction(engine) as conn:
        _refuse_ineligible(store.lock_history_states(conn, ids=ids), ids)
        return store.acknowledge_history(conn, where=job_history.c.id.in_(ids), acknowledged_by=user, note=note, at=now)


def unacknowledge_jobs(
    engine: Engine, selection: Selection, *, now: datetime, max_ids: int, max_query_length: int
) -> int:
    """Undo acknowledgements: each row gets back the status it had; returns how many changed."""
    selection.validate(max_ids=max_ids)
    if selection.ids is None:
        where = history_filter(selection.query, now=now, max_length=max_query_length)
    else:
        where = job_history.c.id.in_(list(dict.fromkeys(selection.ids)))
    with write_transaction(engine) as conn:
        return store.unacknowledge_history(conn, where=where)


def _refuse_ineligible(states: dict[int, tuple[int, int]], ids: Sequence[int]) -> None:
    failed = []
    for job_history_id in ids:
        if job_history_id not in states:
            failed.append(FailedOperation(job_history_id, f"Job history entry {job_history_id} was not found."))
            continue
        status, result = states[job_history_id]
        reason = acknowledge_refusal(status=status, result=result)
        if reason:
            failed.append(FailedOperation(job_history_id, reason))
    if failed:
        raise BulkOperationError(
            f"{len(failed)} of the {len(ids)} jobs cannot be acknowledged; no job was changed.", failed
        )


def failure_count_query(age_out_days: int) -> str:
    """The count of the job-history page, written in the query language so the list can show the same rows."""
    return (
        "(Result -eq 3 OR Result -eq 4) AND (Status -eq 3 OR Status -eq 5) "
        f'AND OperationStart -ge "%TODAY-{age_out_days}%"'
    )


def failure_count(engine: Engine, *, now: datetime) -> FailureCount:
    """Failed and warning runs still waiting for an operator within the age-out window."""
    with read_transaction(engine) as conn:
        setting = app_settings.get_app_setting(conn, short_name=AGE_OUT_SETTING)
        days = int(setting.value) if setting is not None else 7
        query = failure_count_query(days)
        where = history_filter(query, now=now, max_length=len(query))
        return FailureCount(count=store.count_history(conn, where=where), age_out_days=days, query=query)
