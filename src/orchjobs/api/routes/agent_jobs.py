"""Routes under /KeyfactorAgents/Jobs: the job calls an orchestrator makes for a run it was handed.

Every call is authenticated by its `SessionToken`; an unknown or expired one is refused with `A0100001`, which
makes the orchestrator register again. Refusals are 200 with `Result.Status` 3 (docs/orchestrator-protocol.md).
"""

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api.context import AppContext
from orchjobs.api.protocol import answer, refusal, request_body
from orchjobs.service import dispatch
from orchjobs.service.dispatch import JobCallRefusedError, RunConfiguration, SessionRefusedError

router = APIRouter(prefix="/KeyfactorAgents/Jobs", tags=["AgentProtocol"])

OPERATION_TYPES = {"add": 2, "remove": 3}  # OperationType by name; the C agent runs only 2 Add and 3 Remove


@router.post("/Configuration")
async def configuration(request: Request) -> Response:
    """What the orchestrator must do for its run; the run becomes InProcess."""

    def call(context: AppContext, token: str, body: dict[str, Any]) -> Response:
        run = dispatch.start_run(context.engine, token=token, job_id=body.get("jobid"), now=context.clock())
        return answer(_configuration(run, max_characters=context.settings.max_job_data_bytes))

    return await _job_call(request, call)


@router.post("/Inventory")
async def inventory(request: Request) -> Response:
    """The inventory delta of a store, applied all or nothing."""

    def call(context: AppContext, token: str, body: dict[str, Any]) -> Response:
        dispatch.apply_inventory(
            context.engine,
            token=token,
            job_id=body.get("jobid"),
            items=body.get("inventory"),
            now=context.clock(),
            max_items=context.settings.max_inventory_items,
        )
        return answer()

    return await _job_call(request, call)


@router.post("/Enroll")
async def enroll(request: Request) -> Response:
    """A Reenrollment's CSR, answered with the certificate the orchestrator CA issues."""

    def call(context: AppContext, token: str, body: dict[str, Any]) -> Response:
        certificate = dispatch.enroll(
            context.engine,
            token=token,
            job_id=body.get("jobid"),
            csr_text=body.get("csrtext"),
            now=context.clock(),
            ca_passphrase=context.settings.ca_passphrase,
        )
        return answer({"Certificate": certificate})

    return await _job_call(request, call)


@router.post("/Complete")
async def complete(request: Request) -> Response:
    """The outcome of a run: Status 2 Success, 3 Warning or 4 Error, a Message, and Log or Data."""

    def call(context: AppContext, token: str, body: dict[str, Any]) -> Response:
        dispatch.complete_run(
            context.engine,
            token=token,
            job_id=body.get("jobid"),
            audit_id=body.get("auditid"),
            status=body.get("status"),
            message=body.get("message"),
            log_text=body.get("log"),
            data=body.get("data"),
            now=context.clock(),
            max_data_bytes=context.settings.max_job_data_bytes,
        )
        return answer()

    return await _job_call(request, call)


JobCall = Callable[[AppContext, str, dict[str, Any]], Response]


async def _job_call(request: Request, call: JobCall) -> Response:
    """Run the call in a worker thread: one hop and one transaction for all its database work, the session
    check (SessionToken) its first statement."""
    context: AppContext = request.app.state.context
    body = await request_body(request)
    token = body.get("sessiontoken")
    if not isinstance(token, str):
        unknown = SessionRefusedError()
        return refusal(unknown.code_string, unknown.message)

    def run() -> Response:
        try:
            return call(context, token, body)
        except JobCallRefusedError as exc:
            return refusal(exc.code_string, exc.message)

    return await run_in_threadpool(run)


def _configuration(run: RunConfiguration, *, max_characters: int) -> dict[str, Any]:
    """The configuration answer for the run's kind of job (agent-protocol.md §4.4–§4.7)."""
    head: dict[str, Any] = {"AuditId": run.audit_id, "JobCancelled": False}
    if run.kind == "Inventory":
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
        return {**head, "InventoryEndpoint": dispatch.INVENTORY_ENDPOINT, "Job": job}
    if run.kind == "Management":
        return {**head, "Job": _management_job(run)}
    if run.kind == "Reenrollment":
        return {
            **head,
            "ClientMachine": run.client_machine,
            "KeyType": str(run.field("KeyType") or "RSA"),
            "KeySize": _int(run.field("KeySize"), 2048),
            "Subject": run.subject,
            "StorePath": run.store_path or "",
            "StorePassword": run.field("StorePassword"),
            "EnrollEndpoint": dispatch.ENROLL_ENDPOINT,
            "Entropy": str(run.field("Entropy") or ""),
            "Properties": _properties(run),
        }
    if run.kind == "FetchLogs":
        wanted = _int(run.field("MaxCharactersToReturn"), dispatch.DEFAULT_LOG_CHARACTERS)
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
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return default
