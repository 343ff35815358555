"""The browsable API: /docs and /redoc work offline, and the OpenAPI document says what the routes really do.

Driven by the served document itself, so that a new route is covered as soon as it exists: every operation is called
without credentials, without Command's header, plainly, and (list routes) with each list parameter it documents,
valid and malformed, and each answer's status must be one the document lists, with the error schema it names. A
route that reads the list parameters or a body without documenting them is caught too: a malformed list parameter
or body must leave the answer of a route that documents none unchanged.

One app per backend for the module, called in process (the document needs no database; the calls do). Calls that
change anything use ids nothing has, or bodies that cannot be read, so nothing is changed."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from orchjobs.app import create_app
from orchjobs.settings import OAuthIssuer, Settings
from tests.live import ADMIN, API_HEADERS

API, AGENTS = "/KeyfactorAPI/", "/KeyfactorAgents/"
ERROR_REF = "#/components/schemas/ErrorResponse"
ENVELOPE_REF = "#/components/schemas/ProtocolAnswer"
LIST_NAMES = ("QueryString", "PageReturned", "ReturnLimit", "SortField", "SortAscending")
# Valid values of the list parameters (any resource takes them); SortField's valid values depend on the resource.
VALID = {"QueryString": "", "PageReturned": "2", "ReturnLimit": "5", "SortAscending": "1"}
MALFORMED_NUMBER = "abc"
MALFORMED_QUERY = "(("
# What a page or an asset may reference: a path on this origin (no scheme, no host).
REFERENCE = re.compile(r"""(?:src|href|spec-url|data-openapi-url)="([^"]*)\"""")
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


def _settings(database_url: str, directory: Path | None = None, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}",
        db_pool_size=2,
        ca_key_file=None if directory is None else str(directory / "orchjobs-ca.key"),
        **extra,
    )


def _document(settings: Settings) -> dict[str, Any]:
    """GET /openapi.json from an app that is not started (no credentials, no header)."""
    app = create_app(settings)
    document: dict[str, Any] = TestClient(app).get("/openapi.json").raise_for_status().json()
    app.state.context.engine.dispose()
    return document


DOCUMENT = _document(_settings("sqlite://"))
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in ("get", "put", "post", "delete", "patch")
]


@pytest.fixture(scope="module")
def client(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The module's app, started once; sends no credentials and no header unless a test does."""
    directory = None if module_database_url.startswith("sqlite") else tmp_path_factory.mktemp("docs")
    with TestClient(create_app(_settings(module_database_url, directory))) as test_client:
        yield test_client


# -- the pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_pages_load_only_this_origin(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert "http://" not in html and "https://" not in html, html
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy, policy
    assert "<script>" not in html, "an inline script needs the policy to allow inline scripts"
    references = REFERENCE.findall(html)
    assert any(reference.endswith(".js") for reference in references), html
    assert "/openapi.json" in references, html
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        expected = ASSET_TYPES[Path(reference).suffix]
        assert asset.headers["content-type"].startswith(expected), (reference, asset.headers["content-type"])
        if reference.endswith(".js"):
            assert len(asset.content) > 100, reference


def test_swagger_ui_sends_the_header_to_the_api(client: TestClient) -> None:
    """The start-up script adds Command's header to /KeyfactorAPI calls, and names no other origin."""
    init = client.get("/docs/swagger-init.js")
    assert init.status_code == 200
    assert "x-keyfactor-requested-with" in init.text and "APIClient" in init.text
    assert "http://" not in init.text and "https://" not in init.text


# -- the document ----------------------------------------------------------------------------------


def test_the_document_declares_basic_authentication_and_no_422() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["basic"] == {**schemes["basic"], "type": "http", "scheme": "basic"}
    assert "bearer" not in schemes, "bearer tokens are off unless an identity provider is configured"
    text = str(DOCUMENT["paths"])
    assert "'422'" not in text and "HTTPValidationError" not in str(DOCUMENT["components"])
    assert "$defs" not in str(DOCUMENT), "a reference into $defs does not resolve in an OpenAPI document"


def test_the_bearer_scheme_is_declared_when_bearer_tokens_are_on() -> None:
    issuer = OAuthIssuer(issuer="https://idp.invalid/realm", audience="orchjobs")
    document = _document(_settings("sqlite://", oauth_issuers=[issuer]))
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    job_history = document["paths"]["/KeyfactorAPI/OrchestratorJobs/JobHistory"]["get"]
    assert {"bearer": []} in job_history["security"] and {"basic": []} in job_history["security"]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_each_operation_declares_what_it_needs(method: str, path: str, operation: dict[str, Any]) -> None:
    parameters = {parameter["name"]: parameter for parameter in operation.get("parameters", [])}
    header = parameters.get("x-keyfactor-requested-with")
    errors = {status: answer for status, answer in operation["responses"].items() if int(status) >= 400}
    if path.startswith(API):
        assert header is not None and header["in"] == "header" and header["required"] is True
        assert header["schema"]["default"] == "APIClient"
        assert {"basic": []} in operation["security"]
        assert {"400", "401", "403"} <= errors.keys()
        expected = ERROR_REF
    else:
        assert header is None, "only /KeyfactorAPI needs Command's header"
        expected = ENVELOPE_REF if path.startswith(AGENTS) else ERROR_REF
    for status, answer in errors.items():
        schema = answer["content"]["application/json"]["schema"]
        if path == "/readyz":  # its own answer, unavailable or not
            assert schema["properties"].keys() == {"status", "database", "revision", "head"}
        else:
            assert schema == {"$ref": expected}, status
    # Every POST and PUT reads a body but the two actions on one orchestrator; a DELETE without a path id names what it
    # deletes in its body.
    if (method in ("POST", "PUT") and not path.startswith(API + "Agents/{")) or (
        method == "DELETE" and "{" not in path
    ):
        assert "requestBody" in operation, "every route that reads a body declares it"
    for name in LIST_NAMES:
        spellings = [key for key in parameters if key.lower().rpartition(".")[2] == name.lower()]
        if spellings:
            assert name in parameters, f"{name}: the unprefixed (v11) spelling"
            assert any("." in key for key in spellings), f"{name}: a prefixed (v10) spelling, e.g. pq."


# -- the document against the routes ----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_each_operation_answers_what_it_documents(
    client: TestClient, method: str, path: str, operation: dict[str, Any]
) -> None:
    url = _url(path, operation)
    params = _required_query(operation)
    documented = set(operation["responses"])
    body = {"json": {}} if "requestBody" in operation else {}

    def call(*, auth: bool = True, header: bool = True, **extra: Any) -> Any:
        arguments = {"params": params, **body, **extra}
        headers = API_HEADERS if header else {}
        answer = client.request(method, url, headers=headers, auth=ADMIN if auth else None, **arguments)
        assert str(answer.status_code) in documented, (
            f"{method} {url} {arguments} -> {answer.status_code} {answer.text}"
        )
        if answer.status_code >= 400 and not path.startswith(AGENTS):
            assert {"ErrorCode", "Message"} <= answer.json().keys(), answer.text
        return answer

    if "security" in operation:
        assert call(auth=False).status_code == 401
    if path.startswith(API):
        assert call(header=False).status_code == 400
    if "requestBody" in operation:
        unreadable = call(json=None, content=b"{")
        if "{" not in path:
            assert unreadable.status_code == 400, unreadable.text
    elif "{" in path and method != "GET":
        # The path names nothing: the route refuses before it would change anything, whatever the body.
        assert call(content=b"{").status_code == call().status_code
    if method != "GET":
        return
    plain = call().status_code
    names = {parameter["name"] for parameter in operation.get("parameters", [])}
    for name in LIST_NAMES:
        spellings = sorted(key for key in names if key.lower().rpartition(".")[2] == name.lower())
        if not spellings:
            # Undocumented: the route must not read it (a malformed value changes nothing).
            malformed = MALFORMED_QUERY if name == "QueryString" else MALFORMED_NUMBER
            for key in (name, "pq." + name[0].lower() + name[1:]):
                assert call(params={**params, key: malformed}).status_code == plain, f"{key} is read, not documented"
            continue
        for key in spellings:
            if name in VALID:
                assert call(params={**params, key: VALID[name]}).status_code == plain, key
            else:
                call(params={**params, key: "NoSuchField"})
            if name in ("PageReturned", "ReturnLimit", "SortAscending"):
                assert call(params={**params, key: MALFORMED_NUMBER}).status_code == 400, key
            if name == "QueryString" and plain == 200:
                assert call(params={**params, key: MALFORMED_QUERY}).status_code == 400, key


def _url(path: str, operation: dict[str, Any]) -> str:
    """The path with each parameter naming nothing that exists (an id of the right kind, so that the route looks)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            kind = parameter.get("schema", {}).get("type")
            value = "999999999" if kind == "integer" or parameter["name"] in _INTEGER_IDS else str(uuid.uuid4())
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


# Path parameters typed as strings in the routes (read by hand) whose values are integers.
_INTEGER_IDS = {"job_type_id", "store_type_id", "certificate_id", "container_id", "role_id", "identity_id", "key"}


def _required_query(operation: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and parameter.get("required"):
            schema = parameter.get("schema", {})
            if "enum" in schema:
                values[parameter["name"]] = str(schema["enum"][0])
            else:
                values[parameter["name"]] = "1" if schema.get("type") == "integer" else "x"
    return values
