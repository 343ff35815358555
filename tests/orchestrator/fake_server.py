"""A scripted /KeyfactorAgents server behind `httpx.MockTransport`, recording every call the orchestrator makes."""

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from orchjobs.domain.capabilities import capability_guid

BASE_URL = "http://orchjobs.test/KeyfactorAgents"


@dataclass
class ScriptedJob:
    capability: str
    config: dict[str, Any]
    priority: int = 5
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def wire(self) -> dict[str, Any]:
        return {
            "JobTypeId": str(capability_guid(self.capability)).upper(),  # GUIDs compare case-insensitively
            "JobId": self.job_id,
            "ConfigurationEndpoint": "KeyfactorAgents/Jobs/Configuration",  # the 7.4+ prefix the agent drops
            "CompletionEndpoint": "Jobs/Complete",
            "Schedule": None,
            "Priority": self.priority,
        }


@dataclass
class FakeServer:
    agent_id: str = "3f2b6a1e-58c4-4d0e-9a51-0c2d6b7f8e11"
    on_register: list[list[ScriptedJob]] = field(default_factory=list)  # jobs per Register call, in order
    on_heartbeat: list[dict[str, Any] | list[ScriptedJob]] = field(default_factory=list)  # answer or jobs per call
    refuse_register: tuple[str, str] | None = None
    refuse_configuration: dict[str, str] = field(default_factory=dict)  # JobId -> CodeString
    max_data_bytes: int | None = None  # refuse a completion whose Log or Data is larger, as the server does
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    on_call: Callable[[str], None] | None = None
    _jobs: dict[str, ScriptedJob] = field(default_factory=dict)
    _tokens: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def bodies(self, route: str) -> list[dict[str, Any]]:
        return [body for called, body in self.calls if called == route]

    @property
    def routes(self) -> list[str]:
        return [route for route, _body in self.calls]

    def handle(self, request: httpx.Request) -> httpx.Response:
        route = request.url.path.removeprefix("/KeyfactorAgents/")
        body = json.loads(request.content)
        self.calls.append((route, body))
        self.authorizations.append(request.headers.get("authorization", ""))
        if self.on_call:
            self.on_call(route)
        handler = {
            "Session/Register": self._register,
            "Session/Heartbeat": self._heartbeat,
            "Jobs/Configuration": self._configuration,
            "Jobs/Inventory": lambda _body: {},
            "Jobs/Complete": self._complete,
        }.get(route)
        if handler is None:
            return httpx.Response(404, json={"Result": {"Status": 3, "Error": {"Message": "no such route"}}})
        answer = handler(body)
        answer.setdefault("Result", {"Status": 1})
        return httpx.Response(200, json=answer)

    def _register(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.refuse_register:
            return _refusal(*self.refuse_register)
        jobs = self.on_register.pop(0) if self.on_register else []
        self._tokens += 1
        return {
            "Session": {
                "Token": f"token-{self._tokens}",
                "AgentId": self.agent_id,
                "ClientMachine": body["ClientMachine"],
                "HeartbeatInterval": 5,
                "Jobs": self._hand_out(jobs),
            }
        }

    def _heartbeat(self, _body: dict[str, Any]) -> dict[str, Any]:
        scripted = self.on_heartbeat.pop(0) if self.on_heartbeat else []
        if isinstance(scripted, dict):
            return scripted
        return {"HeartbeatInterval": 5, "SessionValid": True, "Jobs": self._hand_out(scripted)}

    def _configuration(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = body["JobId"]
        if job_id in self.refuse_configuration:
            return _refusal(self.refuse_configuration[job_id], "refused")
        return {"AuditId": 1000 + list(self._jobs).index(job_id), "JobCancelled": False, **self._jobs[job_id].config}

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        uploaded = body.get("Log", body.get("Data"))
        size = len(uploaded.encode()) if isinstance(uploaded, str) else 0
        if self.max_data_bytes is not None and size > self.max_data_bytes:
            return _refusal("A0100005", f"The Data is {size} bytes; at most {self.max_data_bytes} bytes are accepted.")
        return {}

    def _hand_out(self, jobs: list[ScriptedJob]) -> list[dict[str, Any]]:
        self._jobs.update({job.job_id: job for job in jobs})
        return [job.wire() for job in jobs]


def invalid_session() -> dict[str, Any]:
    """A Heartbeat answer for a session the server no longer knows."""
    return {"HeartbeatInterval": 5, "SessionValid": False, "Jobs": []}


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"Result": {"Status": 3, "Error": {"Code": 1, "CodeString": code, "Message": message}}}


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
