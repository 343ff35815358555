"""The orchestrator's side of the /KeyfactorAgents protocol: one HTTP client, one method per call.

Every call is a POST of a JSON object; every answer carries the `Result` envelope. A `Result.Status` of 3 is
raised as `ProtocolError` with the server's CodeString, so callers can tell a dead session (`A0100001`) from
other refusals. Endpoints handed out by the server are relative and resolve the way the C agent resolves them
(agent-protocol.md §4.8).
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

import httpx

from orchjobs.orchestrator.payload import bool_field, field, int_field, list_field, text_field

RESULT_SUCCESS, RESULT_WARNING, RESULT_ERROR = 1, 2, 3
SESSION_UNKNOWN = "A0100001"  # the server's code for an unknown or expired session token
UPLOAD_REFUSED = "A0100005"  # the server's code for a malformed or oversized upload (Log, Data, inventory)
TENANT_ID = "00000000-0000-0000-0000-000000000000"
AGENT_PLATFORM = 1  # .NET, the platform number the Universal Orchestrator family reports
AGENT_VERSION = "1.0.0.0"
TIMEOUT_SECONDS = 60.0  # the C agent's connect timeout


class ProtocolError(Exception):
    """The server refused a call (`Result.Status` 3, or an HTTP error status)."""

    def __init__(self, message: str, *, code_string: str = "", http_status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.code_string = code_string
        self.http_status = http_status

    @property
    def session_expired(self) -> bool:
        return self.code_string.upper() == SESSION_UNKNOWN


@dataclass(frozen=True)
class HandedOutJob:
    """One item of `Session.Jobs[]` / the heartbeat's `Jobs[]`."""

    job_id: str
    job_type_id: str
    configuration_endpoint: str
    completion_endpoint: str
    priority: int = 5
    schedule: str | None = None

    @classmethod
    def from_wire(cls, item: dict[str, Any]) -> "HandedOutJob":
        return cls(
            job_id=text_field(item, "JobId"),
            job_type_id=text_field(item, "JobTypeId"),
            configuration_endpoint=text_field(item, "ConfigurationEndpoint"),
            completion_endpoint=text_field(item, "CompletionEndpoint"),
            priority=int_field(item, "Priority", 5),
            schedule=field(item, "Schedule"),
        )


@dataclass(frozen=True)
class Session:
    """What a registration gave: the token for later calls, our identity, the interval, and jobs due now."""

    token: str
    agent_id: str
    heartbeat_minutes: int
    jobs: list[HandedOutJob] = dataclasses.field(default_factory=list)
    warning: str = ""


@dataclass(frozen=True)
class Heartbeat:
    session_valid: bool
    heartbeat_minutes: int
    jobs: list[HandedOutJob] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class Registration:
    """Who this orchestrator says it is."""

    client_machine: str
    capabilities: list[str]
    agent_id: str = ""


def resolve_endpoint(base_url: str, endpoint: str) -> str:
    """`base_url` + endpoint, as the C agent builds it: the first `KeyfactorAgents/` in the endpoint is dropped
    (Command 7.4+ prefixed endpoints with it) and a `/` is put in between."""
    path = endpoint.strip().replace("KeyfactorAgents/", "", 1)
    if not path.startswith("/"):
        path = "/" + path
    return base_url.rstrip("/") + path


def _jobs(answer: Any) -> list[HandedOutJob]:
    return [HandedOutJob.from_wire(item) for item in list_field(answer, "Jobs") if isinstance(item, dict)]


def _error_of(answer: dict[str, Any]) -> tuple[str, str]:
    error = field(field(answer, "Result"), "Error", {})
    code = text_field(error, "CodeString") or text_field(error, "HResult")
    return code, text_field(error, "Message")


class ProtocolClient:
    """A session with one server: Basic auth on every call, the session token once registered."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        auth = httpx.BasicAuth(username, password) if username and password else None
        self._http = httpx.Client(
            auth=auth,
            timeout=TIMEOUT_SECONDS,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.token = ""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ProtocolClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the calls ---------------------------------------------------------------------------------------------

    def register(self, registration: Registration) -> Session:
        """`Session/Register`: a new session (the old token is dropped whatever the outcome)."""
        self.token = ""
        answer = self.post(
            "Session/Register",
            {
                "AgentId": registration.agent_id,
                "ClientMachine": registration.client_machine,
                "Capabilities": registration.capabilities,
                "AgentPlatform": AGENT_PLATFORM,
                "AgentVersion": AGENT_VERSION,
                "TenantId": TENANT_ID,
                "CSR": None,
                "ClientParameters": {},
            },
        )
        session = field(answer, "Session")
        token = text_field(session, "Token")
        if not token:
            raise ProtocolError("The server's registration answer has no session token.")
        self.token = token
        return Session(
            token=token,
            agent_id=text_field(session, "AgentId"),
            heartbeat_minutes=int_field(session, "HeartbeatInterval", 5),
            jobs=_jobs(session),
            warning=_error_of(answer)[1],
        )

    def heartbeat(self, client_machine: str) -> Heartbeat:
        """`Session/Heartbeat`: is the session still good, and which jobs are due now (our server's extension)."""
        answer = self.post(
            "Session/Heartbeat",
            {"SessionToken": self.token, "ClientMachine": client_machine, "AgentPlatform": AGENT_PLATFORM},
        )
        return Heartbeat(
            session_valid=bool_field(answer, "SessionValid"),
            heartbeat_minutes=int_field(answer, "HeartbeatInterval", 5),
            jobs=_jobs(answer),
        )

    def configuration(self, job: HandedOutJob) -> dict[str, Any]:
        """The job's configuration from its `ConfigurationEndpoint`."""
        return self.post(job.configuration_endpoint, {"SessionToken": self.token, "JobId": job.job_id})

    def upload_inventory(self, endpoint: str, job_id: str, items: list[dict[str, Any]]) -> None:
        """Post an inventory delta to the job's `InventoryEndpoint`."""
        self.post(endpoint, {"SessionToken": self.token, "JobId": job_id, "Inventory": items})

    def upload_discovery(self, endpoint: str, job_id: str, locations: list[str]) -> None:
        """Post the paths a Discovery run found to the job's `DiscoveryEndpoint`."""
        self.post(endpoint, {"SessionToken": self.token, "JobId": job_id, "Locations": locations})

    def complete(self, job: HandedOutJob, *, audit_id: int, status: int, message: str, **extra: Any) -> None:
        """Report a job's outcome to its `CompletionEndpoint`; `extra` carries `Log` or `Data`."""
        body = {
            "SessionToken": self.token,
            "JobId": job.job_id,
            "AuditId": audit_id,
            "Status": status,
            "Message": message,
            **{key: value for key, value in extra.items() if value is not None},
        }
        self.post(job.completion_endpoint, body)

    # -- transport ---------------------------------------------------------------------------------------------

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` to an endpoint and return the answer; raises `ProtocolError` on a refusal."""
        response = self._http.post(resolve_endpoint(self.base_url, endpoint), json=body)
        answer = self._json(response)
        status = int_field(field(answer, "Result"), "Status", RESULT_SUCCESS)
        if response.status_code >= 300 or status == RESULT_ERROR:
            code, message = _error_of(answer)
            raise ProtocolError(
                message or f"{endpoint} answered HTTP {response.status_code}",
                code_string=code,
                http_status=response.status_code,
            )
        return answer

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return answer
        if response.status_code >= 300:
            return {}
        raise ProtocolError(f"The server's answer is not a JSON object (HTTP {response.status_code}).")
