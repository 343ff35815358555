"""/KeyfactorAPI/Audit (extension): the audit log, listed and counted like every other resource (docs/audit.md).
Reading it needs Command's /auditing/read/ (api/permissions.py)."""

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from orchjobs.api import listing, paths
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import count_response, list_response
from orchjobs.api.schemas import AuditEntryResponse, CountResponse
from orchjobs.service.audit import AUDIT

router = APIRouter(prefix=paths.AUDIT, tags=["Audit"])


@router.get("", response_model=list[AuditEntryResponse], openapi_extra=listing.documented())
def get_audit(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Audit entries, filtered by `pq.queryString` (or `QueryString`), sorted (newest first by default) and paged."""
    return list_response(request, context, AUDIT, audit_item)


@router.get("/Count", response_model=CountResponse, openapi_extra=listing.documented(names=(listing.QUERY_STRING,)))
def count_audit(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """How many audit entries the query matches."""
    return count_response(request, context, AUDIT)


def audit_item(row: Any) -> dict[str, Any]:
    """One entry; Ids and Details are kept as JSON text and answered as JSON; absent values are omitted."""
    item: dict[str, Any] = {
        "Id": row.id,
        "At": row.at,
        "Actor": row.actor,
        "Action": row.action,
        "Resource": row.resource,
    }
    if row.query is not None:
        item["Query"] = row.query
    if row.ids is not None:
        item["Ids"] = orjson.Fragment(row.ids)
    item["RowCount"] = row.row_count
    if row.details is not None:
        item["Details"] = orjson.Fragment(row.details)
    return item
