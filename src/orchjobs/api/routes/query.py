"""/KeyfactorAPI/OrchestratorJobs/Query/Explain (an extension): what a query means for a resource, without running
it; without a query, the resource's queryable fields (for a console). Reads no table.

Explaining a malformed query is a successful explanation (200, `Valid: false` with the error and its position); an
unknown resource is a 400. Needs /agents/management/read/ (api/permissions.py), whatever the resource: the answer
holds the query language's field catalogue and the caller's own query, no data of the resource.
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchjobs.api import paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.query_schemas import QueryExplainResponse
from orchjobs.errors import InvalidRequestError
from orchjobs.service import explain as service

_EXPLAIN_DOC = docs.query_parameters(
    ("resource", {"type": "string", "enum": list(service.RESOURCE_NAMES)}, True, "The resource the query is for."),
    ("query", docs.STRING, False, "The query to explain; without it, the resource's queryable fields."),
)
router = APIRouter(prefix=paths.ORCHESTRATOR_JOBS, tags=["Query"])


@router.get("/Query/Explain", response_model=QueryExplainResponse, openapi_extra=_EXPLAIN_DOC)
def explain_query(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Explain `query` for `resource` (parameter names in any case), or list the resource's fields without one."""
    params = {key.lower(): value for key, value in request.query_params.items()}
    resource = params.get("resource")
    if not resource or not resource.strip():
        raise InvalidRequestError(f"resource is required; one of: {', '.join(service.RESOURCE_NAMES)}.")
    query = params.get("query")
    if query is None:
        name, fields = service.catalogue(resource)
        return wire.json_response({"Resource": name, "Fields": [_field(facts, catalogue=True) for facts in fields]})
    explanation = service.explain(
        resource, query, now=context.clock(), user=user.name, max_length=context.settings.max_query_length
    )
    return wire.json_response(_explanation(explanation))


def _explanation(explanation: service.Explanation) -> dict[str, Any]:
    answer: dict[str, Any] = {"Resource": explanation.resource, "Valid": explanation.error is None}
    if explanation.error is not None:
        error = explanation.error
        problem: dict[str, Any] = {"Message": error.message, "Reason": error.reason, "Position": error.position}
        if error.expected:
            problem["Expected"] = error.expected
        answer.update(Query=explanation.query, Error=problem)
        return answer
    answer.update(
        Query=explanation.query,
        Description=explanation.description,
        Fields=[_field(facts, catalogue=False) for facts in explanation.fields],
        TimeWindow=[_time_window(window) for window in explanation.time_windows],
    )
    return answer


def _field(facts: service.FieldFacts, *, catalogue: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"Name": facts.name, "Type": facts.kind, "Operators": list(facts.operators)}
    if catalogue:
        item.update(Aliases=list(facts.aliases), Sortable=facts.sortable)
    if facts.values:
        item["Values"] = [{"Value": value, "Name": name} for value, name in facts.values]
    return item


def _time_window(window: service.TimeWindow) -> dict[str, Any]:
    item: dict[str, Any] = {"Field": window.field, "Operator": window.op, "Value": window.value}
    if window.start is not None:
        item.update(From=window.start, FromInclusive=window.start_inclusive)
    if window.end is not None:
        item.update(To=window.end, ToInclusive=window.end_inclusive)
    item["Selects"] = "Inside" if window.inside else "Outside"
    return item
