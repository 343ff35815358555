"""The OpenAPI document as the service really behaves, so that Swagger UI's "Try it out" makes valid calls.

FastAPI's own document knows nothing of what the routes do by hand: Basic credentials (and bearer tokens when an
identity provider is configured), Command's required `x-keyfactor-requested-with` header, the list parameters read
from the query string, and the error answers, which are Command's `{ErrorCode, Message}` 400s and never FastAPI's
422. This module adds those to FastAPI's document, from the routes themselves (their dependencies, path parameters,
bodies and the list parameters they declare with `listing.documented`)."""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from orchjobs.api import auth, listing, paths
from orchjobs.settings import Settings

REQUESTED_WITH = "x-keyfactor-requested-with"
BASIC, BEARER, CLIENT_CERTIFICATE = "basic", "bearer", "clientCertificate"
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
ENVELOPE_SCHEMA = {"$ref": "#/components/schemas/ProtocolAnswer"}
READINESS = {
    "type": "object",
    "properties": {key: {"type": ["string", "null"]} for key in ("status", "database", "revision", "head")},
}
# The bulk routes whose refusal names each item refused (a FailedOperation per item), all or nothing.
BULK_REFUSALS = frozenset(
    {
        ("POST", f"{paths.ORCHESTRATOR_JOBS}/Acknowledge"),
        ("POST", f"{paths.ORCHESTRATOR_JOBS}/Unacknowledge"),
        ("POST", f"{paths.ORCHESTRATOR_JOBS}/Reschedule"),
        ("POST", f"{paths.ORCHESTRATOR_JOBS}/Unschedule"),
        ("POST", f"{paths.ORCHESTRATORS}/Approve"),
        ("POST", f"{paths.ORCHESTRATORS}/Disapprove"),
        ("POST", f"{paths.ORCHESTRATORS}/Reset"),
        ("PUT", paths.APP_SETTINGS),
        ("DELETE", paths.STORE_TYPES),
        ("DELETE", paths.CERTIFICATE_STORES),
        ("POST", f"{paths.CERTIFICATE_STORES}/Approve"),
        ("POST", f"{paths.CERTIFICATE_STORES}/Schedule"),
        ("POST", f"{paths.CERTIFICATE_STORES}/Certificates/Add"),
        ("POST", f"{paths.CERTIFICATE_STORES}/Certificates/Remove"),
    }
)
_API_ERRORS = {
    400: "Invalid request (a malformed parameter or body, a bad query, or no x-keyfactor-requested-with header).",
    401: "No credentials, or credentials that are not valid.",
    403: "The caller's roles do not hold the permission the route needs.",
    404: "Nothing has this id.",
    409: "The rows of the preview (PreviewToken) changed since it was made; nothing was changed.",
    413: "The request body is larger than this route takes.",
    429: "Too many failed logins from this address or for this user; Retry-After says when to try again.",
    503: "The database (or the password check, or the identity provider) is unavailable; try again.",
}
_BULK_400 = _API_ERRORS[400] + " A bulk refusal lists each refused item in FailedOperations; nothing was changed."


def install_openapi(app: FastAPI, settings: Settings, *, routes: Sequence[BaseRoute]) -> None:
    """Serve the completed document at /openapi.json (built once, on the first request for it). `routes`: the
    app's routes (FastAPI nests included routers, so the caller names them)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, settings, routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI, settings: Settings, routes: Sequence[BaseRoute]) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    bearer = bool(settings.oauth_issuers)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _hoist_definitions(doc["paths"], schemas)
    schemas["ErrorResponse"] = _error_schema()
    schemas["ProtocolAnswer"] = _envelope_schema()
    components["securitySchemes"] = _security_schemes(bearer=bearer)
    api_security: list[dict[str, list[str]]] = [{BASIC: []}]
    if bearer:
        api_security.append({BEARER: []})
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = doc["paths"][route.path][method.lower()]
            _expand_list_parameters(operation, max_limit=settings.max_return_limit)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if route.path.startswith(paths.API + "/"):
                _admin_operation(operation, route, method, api_security)
            elif route.path.startswith(paths.AGENTS + "/"):
                _protocol_operation(operation, route)
            elif route.path == "/readyz":
                responses["503"] = _response(
                    "The database does not answer, or its schema is not the newest.", READINESS
                )
            elif route.path == "/metrics":
                _metrics_operation(operation, settings.metrics, api_security)
    return doc


def _admin_operation(operation: dict[str, Any], route: APIRoute, method: str, security: list[Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    parameters.insert(0, _requested_with_parameter())
    statuses = [400]
    if _authenticates(route.dependant):
        operation["security"] = security
        statuses += [401, 403, 429, 503]
    # A path id, the Id of an update's body, or a route's own declaration (request_docs.NOT_FOUND) can name nothing.
    if route.param_convertors or method == "PUT" or "404" in operation["responses"]:
        statuses.append(404)
    if "requestBody" in operation:
        statuses.append(413)
        if "PreviewToken" in str(operation["requestBody"]):
            statuses.append(409)
    for status in sorted(statuses):
        description = _BULK_400 if status == 400 and (method, route.path) in BULK_REFUSALS else _API_ERRORS[status]
        operation["responses"][str(status)] = _response(description, ERROR_SCHEMA)


def _protocol_operation(operation: dict[str, Any], route: APIRoute) -> None:
    """The orchestrator protocol: no requested-with header; a call understood and refused is a 200 whose
    Result.Status is 3; error statuses only for a body that is not JSON, bad credentials and no database."""
    responses = operation["responses"]
    responses["200"] = _response("Result.Status 1 (done), 2 (done in part) or 3 (refused, with Result.Error).", None)
    responses["200"]["content"] = {"application/json": {"schema": ENVELOPE_SCHEMA}}
    responses["400"] = _response("The body is not a JSON object.", ENVELOPE_SCHEMA)
    responses["413"] = _response("The request body is larger than this call takes.", ENVELOPE_SCHEMA)
    responses["503"] = _response("The database is unavailable; try again.", ENVELOPE_SCHEMA)
    if route.path == paths.SESSION + "/Register":
        operation["security"] = [{CLIENT_CERTIFICATE: []}, {BASIC: []}]
        responses["401"] = _response("No client certificate and no valid Basic credentials.", ENVELOPE_SCHEMA)
        responses["403"] = _response("The credentials may not connect an orchestrator.", ENVELOPE_SCHEMA)


def _metrics_operation(operation: dict[str, Any], access: str, security: list[Any]) -> None:
    responses = operation["responses"]
    if access == "off":
        responses["404"] = _response("Metrics are turned off (ORCHJOBS_METRICS=off).", ERROR_SCHEMA)
    elif access == "authenticated":
        operation["security"] = security
        for status in (401, 403, 429, 503):
            responses[str(status)] = _response(_API_ERRORS[status], ERROR_SCHEMA)


def _expand_list_parameters(operation: dict[str, Any], *, max_limit: int) -> None:
    declared = operation.pop(listing.DOC_MARK, None)
    if declared is not None:
        parameters = operation.setdefault("parameters", [])
        parameters.extend(listing.parameters(declared, max_limit=max_limit))


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Move the `$defs` of the pydantic schemas that routes put in their openapi_extra into the components, and point
    their references there: `#/$defs/...` means the document's root, where nothing is (ReDoc refuses such a
    document, Swagger UI leaves the reference unresolved)."""
    if isinstance(node, list):
        for item in node:
            _hoist_definitions(item, schemas)
    elif isinstance(node, dict):
        definitions = node.pop("$defs", None)
        if definitions is not None:
            _hoist_definitions(definitions, schemas)
            for name, definition in definitions.items():
                schemas.setdefault(name, definition)
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + reference.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_definitions(value, schemas)


def _authenticates(dependant: Dependant) -> bool:
    """Whether the route takes `UserDep` (authentication and the route's permissions), however deep."""
    return any(
        dependency.call is auth.permitted_principal or _authenticates(dependency)
        for dependency in dependant.dependencies
    )


def _requested_with_parameter() -> dict[str, Any]:
    return {
        "name": REQUESTED_WITH,
        "in": "header",
        "required": True,
        "description": "Command's header on every /KeyfactorAPI call (any case of the value); without it, a 400.",
        "schema": {"type": "string", "enum": ["APIClient", "XMLHttpRequest"], "default": "APIClient"},
    }


def _response(description: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


def _security_schemes(*, bearer: bool) -> dict[str, Any]:
    schemes: dict[str, Any] = {
        BASIC: {"type": "http", "scheme": "basic", "description": "A user of this service (user:password)."},
        CLIENT_CERTIFICATE: {
            "type": "mutualTLS",
            "description": "A client certificate the orchestrator CA issued (orchestrator registration only).",
        },
    }
    if bearer:
        schemes[BEARER] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An OAuth 2.0 access token of a configured identity provider (docs/security.md).",
        }
    return schemes


def _error_schema() -> dict[str, Any]:
    failed = {
        "type": "object",
        "properties": {"Id": {"description": "The refused item."}, "Reason": {"type": "string"}},
        "required": ["Id", "Reason"],
    }
    return {
        "title": "ErrorResponse",
        "type": "object",
        "description": "Command's error answer. FailedOperations: on a bulk refusal, each refused item and why.",
        "properties": {
            "ErrorCode": {"type": "string", "examples": ["0xA0110001"]},
            "Message": {"type": "string"},
            "FailedOperations": {"type": "array", "items": failed},
        },
        "required": ["ErrorCode", "Message"],
    }


def _envelope_schema() -> dict[str, Any]:
    error = {
        "type": "object",
        "properties": {"Code": {"type": "integer"}, "CodeString": {"type": "string"}, "Message": {"type": "string"}},
    }
    result = {
        "type": "object",
        "properties": {"Status": {"type": "integer", "enum": [1, 2, 3]}, "Error": error},
        "required": ["Status"],
    }
    return {
        "title": "ProtocolAnswer",
        "type": "object",
        "description": "Every orchestrator-protocol answer: the call's own fields beside Result.",
        "properties": {"Result": result},
        "required": ["Result"],
        "additionalProperties": True,
    }
