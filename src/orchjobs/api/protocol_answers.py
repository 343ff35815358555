"""What orchestrators are answered, in the shapes the C agent reads (agent-protocol.md §1–§6)."""

import json
from typing import Any

from orchjobs.api import paths
from orchjobs.domain import discovery
from orchjobs.domain.jobs import JobKind
from orchjobs.domain.numbers import lenient_int
from orchjobs.service.dispatch import HandedOutJob
from orchjobs.service.job_calls import RunConfiguration
from orchjobs.service.sessions import Heartbeat, OpenedSession

DEFAULT_LOG_CHARACTERS = 4000
OPERATION_TYPES = {"add": 2, "remove": 3}  # OperationType by name; the C agent runs only 2 Add and 3 Remove


def session(opened: OpenedSession) -> dict[str, Any]:
    """The `Session` of a registration's answer."""
    answer: dict[str, Any] = {
        "Token": opened.token,
        "AgentId": str(opened.agent_id),
        "ClientMachine": opened.client_machine,
        "HeartbeatInterval": opened.heartbeat_interval,
        "Jobs": [handed_out(job) for job in opened.jobs],
    }
    if opened.certificate:
        answer["Certificate"] = opened.certificate
    return answer


def heartbeat(beat: Heartbeat) -> dict[str, Any]:
    return {
        "HeartbeatInterval": beat.heartbeat_interval,
        "SessionValid": beat.valid,
        "Jobs": [handed_out(job) for job in beat.jobs],
    }


def handed_out(job: HandedOutJob) -> dict[str, Any]:
    """One item of `Jobs[]`: where the orchestrator fetches and reports the job."""
    return {
        "JobTypeId": str(job.job_type_id),
        "JobId": str(job.job_id),
        "ConfigurationEndpoint": paths.CONFIGURATION_ENDPOINT,
        "CompletionEndpoint": paths.COMPLETION_ENDPOINT,
        "Schedule": job.schedule,
        "Priority": job.priority,
    }


def configuration(run: RunConfiguration, *, max_characters: int) -> dict[str, Any]:
    """The configuration answer for the run's kind of job (agent-protocol.md §4.4–§4.7)."""
    head: dict[str, Any] = {"AuditId": run.audit_id, "JobCancelled": False}
    if run.kind is JobKind.INVENTORY:
        job = {
            "ClientMachine": run.client_machine,
            "StorePath": run.store_path or "",
            "StorePassword": run.field("StorePassword"),
            "Category": 0,
            "Inventory": [
                {"Alias": entry.alias, "PrivateKeyEntry": entry.private_key_entry, "Thumbprints": []}
                for entry in run.inventory
            ],
        }
        return {**head, "InventoryEndpoint": paths.INVENTORY_ENDPOINT, "Job": job}
    if run.kind is JobKind.MANAGEMENT:
        return {**head, "Job": _management_job(run)}
    if run.kind is JobKind.REENROLLMENT:
        return {
            **head,
            "ClientMachine": run.client_machine,
            "KeyType": str(run.field("KeyType") or "RSA"),
            "KeySize": _int(run.field("KeySize"), 2048),
            "Subject": run.subject,
            "StorePath": run.store_path or "",
            "StorePassword": run.field("StorePassword"),
            "EnrollEndpoint": paths.ENROLL_ENDPOINT,
            "Entropy": str(run.field("Entropy") or ""),
            "Properties": _properties(run),
        }
    if run.kind is JobKind.DISCOVERY:
        return {**head, "DiscoveryEndpoint": paths.DISCOVERY_ENDPOINT, "Job": _discovery_job(run)}
    if run.kind is JobKind.FETCH_LOGS:
        wanted = _int(run.field("MaxCharactersToReturn"), DEFAULT_LOG_CHARACTERS)
        return {**head, "MaxCharactersToReturn": min(max(wanted, 1), max_characters)}
    return {**head, "JobFields": run.fields}


def _management_job(run: RunConfiguration) -> dict[str, Any]:
    contents = run.field("EntryContents") or ""
    operation = run.field("OperationType")
    if isinstance(operation, str):
        operation = OPERATION_TYPES.get(operation.strip().lower(), _int(operation, 0))
    if not isinstance(operation, int) or isinstance(operation, bool):
        # Nothing said: a job that carries a certificate adds it, one that names only an alias removes it.
        operation = 2 if contents else 3
    return {
        "ClientMachine": run.client_machine,
        "StorePath": run.store_path or "",
        "StoreType": run.store_type or "",
        "StorePassword": run.field("StorePassword"),
        "Category": 0,
        "OperationType": operation,
        "Alias": str(run.field("Alias") or ""),
        "Thumbprint": str(run.field("Thumbprint") or ""),
        "EntryContents": contents,
        "EntryPassword": run.field("EntryPassword"),
        "PfxPassword": run.field("PfxPassword"),
        "PrivateKeyEntry": run.field("PrivateKeyEntry") is True,
        "Overwrite": run.field("Overwrite") is True,
        "Properties": _properties(run),
    }


def _discovery_job(run: RunConfiguration) -> dict[str, Any]:
    """Where to look for stores (docs/orchestrator-protocol.md "Discovery"): lists as comma-separated text, flags as
    booleans."""
    job: dict[str, Any] = {"ClientMachine": discovery.client_machine(run.field("ClientMachine"), run.client_machine)}
    job.update({name: ",".join(discovery.split_list(run.field(name))) for name in discovery.LIST_FIELDS})
    job.update({name: discovery.flag(run.field(name)) for name in discovery.FLAG_FIELDS})
    return job


def _properties(run: RunConfiguration) -> str:
    """`Properties` as the agent takes them: a string of a JSON object whose values are strings (the C agent
    crashes on a non-string `separatePrivateKey`). The job's own Properties, else its store's."""
    value = run.field("Properties")
    if value is None:
        value = run.store_properties
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            value = {}
    if not isinstance(value, dict):
        value = {}
    return json.dumps({str(key): _text(item) for key, item in value.items()})


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _int(value: Any, default: int) -> int:
    number = lenient_int(value)
    return default if number is None else number
