"""Job handlers: what the orchestrator does with a job's configuration, and the outcome it reports.

A handler gets the `Jobs/Configuration` answer and returns a `JobOutcome` (completion Status 2 Success,
3 Warning, 4 Error, plus `Log` or `Data`). `execute` turns any exception into Status 4 with its message, so a
broken job never stops the orchestrator. Custom jobs run the handler of their job type (`custom.py`); their result
data is checked here, before anything is sent.
"""

import base64
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchjobs.domain.capabilities import FETCH_LOGS
from orchjobs.orchestrator import discovery
from orchjobs.orchestrator.custom import (
    DEFAULT_MAX_DATA_BYTES,
    CustomJobContext,
    CustomJobOutcome,
    CustomJobTypes,
    JsonValue,
    job_type_name,
)
from orchjobs.orchestrator.payload import bool_field, field, int_field, list_field, text_field
from orchjobs.orchestrator.pem_store import PemStore, StoredCertificate, StoreError, certificate_der

SUCCESS, WARNING, ERROR = 2, 3, 4  # JobCompleteStatus
ITEM_ADD, ITEM_REMOVE, ITEM_UNCHANGED = 1, 3, 4  # InventoryStatus
OPERATION_ADD, OPERATION_REMOVE = 2, 3  # OperationType
DEFAULT_LOG_CHARACTERS = 4000
# The discovery jobs this orchestrator runs: stores it recognises by their files' extensions.
DISCOVERY_CAPABILITIES = ("certstores.pem.discovery", "certstores.jks.discovery")

logger = logging.getLogger("orchjobs.orchestrator")


class JobError(Exception):
    """A job cannot be run as configured; its message goes into the completion."""


@dataclass(frozen=True)
class JobOutcome:
    status: int
    message: str = ""
    log: str | None = None  # FetchLogs
    data: str | None = None  # custom jobs


@dataclass(frozen=True)
class JobContext:
    """Everything a handler may use."""

    capability: str
    job_id: str
    config: dict[str, Any]  # the Jobs/Configuration answer
    store: PemStore
    log_path: Path
    upload_inventory: Callable[[str, list[dict[str, Any]]], None]  # (InventoryEndpoint, items)
    upload_discovery: Callable[[str, list[str]], None] | None = None  # (DiscoveryEndpoint, locations)
    custom_jobs: CustomJobTypes = dataclasses.field(default_factory=CustomJobTypes)
    max_data_bytes: int = DEFAULT_MAX_DATA_BYTES  # the most result data a custom job may upload


Handler = Callable[[JobContext], JobOutcome]


def execute(context: JobContext) -> JobOutcome:
    """Run the job; every failure becomes a Status 4 outcome with a message an operator can act on."""
    try:
        return handler_for(context.capability)(context)
    except (JobError, StoreError) as exc:
        return JobOutcome(ERROR, str(exc))
    except Exception as exc:  # a job must never take the orchestrator down
        logger.exception("Job %s (%s) failed", context.job_id, context.capability)
        return JobOutcome(ERROR, f"{type(exc).__name__}: {exc}")


def handler_for(capability: str) -> Handler:
    name = capability.lower()
    if name == FETCH_LOGS.lower():
        return fetch_logs
    if name == "certstores.pem.inventory":
        return pem_inventory
    if name == "certstores.pem.management":
        return pem_management
    if name in DISCOVERY_CAPABILITIES:
        return discover
    if name.startswith("custom."):
        return custom_job
    raise JobError(f"This orchestrator cannot run {capability} jobs.")


# -- custom jobs ---------------------------------------------------------------------------------------------------


def custom_job(context: JobContext) -> JobOutcome:
    """Run the job type's handler on the job's fields; its outcome, with result data the server will accept."""
    name = job_type_name(context.capability)
    handler = context.custom_jobs.handler(name)
    custom_context = CustomJobContext(
        job_type=name,
        job_id=context.job_id,
        store_dir=context.store.root,
        log_path=context.log_path,
        logger=logger.getChild(name),
    )
    outcome = handler(job_fields(context.config), custom_context)
    if not isinstance(outcome, CustomJobOutcome):
        raise JobError(f"The {name} handler returned {type(outcome).__name__}, not a CustomJobOutcome.")
    data = result_data(outcome.data)
    size = _utf8_size(data)
    if size > context.max_data_bytes:
        return JobOutcome(ERROR, _oversized(outcome, size=size, limit=context.max_data_bytes))
    return JobOutcome(int(outcome.result), outcome.message, data=data)


def result_data(data: JsonValue) -> str | None:
    """The `Data` to upload: a string as it is, any other value as its JSON text, None as no `Data` at all."""
    if data is None or isinstance(data, str):
        return data
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JobError(f"The result data cannot be sent as JSON: {exc}.") from None


def _utf8_size(data: str | None) -> int:
    """The bytes the server counts; data UTF-8 cannot carry (a file name decoded with surrogateescape) is refused."""
    try:
        return len(data.encode("utf-8")) if data is not None else 0
    except UnicodeEncodeError as exc:
        raise JobError(f"The result data is not valid Unicode text: {exc.reason} at position {exc.start}.") from None


def _oversized(outcome: CustomJobOutcome, *, size: int, limit: int) -> str:
    result = outcome.result.name.title()
    reported = f"{result}: {outcome.message}" if outcome.message else f"{result}."
    return (
        f"The result data ({size:,} bytes) is over the {limit:,}-byte upload limit and was not sent. "
        f"The job reported {reported}"
    )


def job_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The custom job's fields, wherever the configuration carries them (top level or inside `Job`)."""
    for holder in (config, field(config, "Job", {})):
        for name in ("JobFields", "Fields"):
            value = field(holder, name)
            if isinstance(value, str):
                value = _parse_json_object(value, name)
            if isinstance(value, dict):
                return value
    return {}


def _parse_json_object(text: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        raise JobError(f"The job's {name} are not valid JSON.") from None
    if not isinstance(value, dict):
        raise JobError(f"The job's {name} are not a JSON object.")
    return value


# -- FetchLogs -----------------------------------------------------------------------------------------------------


def fetch_logs(context: JobContext) -> JobOutcome:
    limit = int_field(context.config, "MaxCharactersToReturn") or DEFAULT_LOG_CHARACTERS
    if limit <= 0:
        limit = DEFAULT_LOG_CHARACTERS
    return JobOutcome(SUCCESS, log=log_tail(context.log_path, limit))


def log_tail(path: Path, limit: int) -> str:
    """The last `limit` characters of the log; a tail that had to be cut starts at a line start."""
    try:
        with path.open("rb") as file:
            start = max(0, file.seek(0, 2) - 4 * limit)  # a character is at most four bytes in UTF-8
            file.seek(start)
            text = file.read().decode("utf-8", "replace")
    except OSError as exc:
        raise JobError(f"The log {path} cannot be read: {exc.strerror}.") from None
    if start == 0 and len(text) <= limit:
        return text
    tail = text[-limit:]
    if len(text) > limit and text[-limit - 1] == "\n":
        return tail
    newline = tail.find("\n")
    return tail if newline in (-1, len(tail) - 1) else tail[newline + 1 :]


# -- PEM inventory -------------------------------------------------------------------------------------------------


def pem_inventory(context: JobContext) -> JobOutcome:
    """Read the store, tell the server what changed since its last inventory, then report success."""
    job = _job(context.config)
    endpoint = text_field(context.config, "InventoryEndpoint")
    if not endpoint:
        raise JobError("The inventory job has no InventoryEndpoint.")
    local = context.store.certificates(text_field(job, "StorePath"), password=_password(job))
    items = inventory_delta(local, list_field(job, "Inventory"))
    context.upload_inventory(endpoint, items)
    return JobOutcome(SUCCESS, _inventory_summary(items))


def inventory_delta(local: list[StoredCertificate], known: list[Any]) -> list[dict[str, Any]]:
    """Add for certificates only the store has, Remove for aliases only the server has, Unchanged for both.

    Like the C agent, Unchanged items keep the server's PrivateKeyEntry and Remove items send false.
    """
    known_keys = {
        text_field(item, "Alias").lower(): bool_field(item, "PrivateKeyEntry")
        for item in known
        if text_field(item, "Alias")
    }
    local_aliases = {certificate.alias for certificate in local}
    items = [
        _inventory_item(certificate.alias, ITEM_UNCHANGED, known_keys[certificate.alias])
        if certificate.alias in known_keys
        else _inventory_item(certificate.alias, ITEM_ADD, certificate.private_key_entry, certificate.der)
        for certificate in local
    ]
    items += [_inventory_item(alias, ITEM_REMOVE, False) for alias in known_keys if alias not in local_aliases]
    return items


def _inventory_item(alias: str, status: int, private_key: bool, der: bytes | None = None) -> dict[str, Any]:
    return {
        "Alias": alias,
        "ItemStatus": status,
        "PrivateKeyEntry": private_key,
        "UseChainLevel": False,
        "Certificates": [base64.b64encode(der).decode("ascii")] if der else [],
    }


def _inventory_summary(items: list[dict[str, Any]]) -> str:
    counts = {status: sum(item["ItemStatus"] == status for item in items) for status in (1, 3, 4)}
    return (
        f"Inventory: {counts[ITEM_ADD] + counts[ITEM_UNCHANGED]} certificates "
        f"({counts[ITEM_ADD]} new, {counts[ITEM_UNCHANGED]} unchanged, {counts[ITEM_REMOVE]} removed)."
    )


# -- Discovery -----------------------------------------------------------------------------------------------------


def discover(context: JobContext) -> JobOutcome:
    """Look for store files where the job says, post their paths to the DiscoveryEndpoint, and report what was
    found: Success, or Warning when a directory could not be searched or the search stopped at its limit."""
    job = discovery.job_of(context.config)
    endpoint = text_field(context.config, "DiscoveryEndpoint")
    if not endpoint:
        raise JobError("The discovery job has no DiscoveryEndpoint.")
    if context.upload_discovery is None:
        raise JobError("This orchestrator cannot upload discovery results.")
    search = discovery.Search.from_job(job, default_extensions=discovery.default_extensions(context.capability))
    if not search.dirs:
        raise JobError("The discovery job names no directories to search (Dirs).")
    found = discovery.find_stores(context.store.root, search, own_files=context.store.own_files)
    if found.locations:
        context.upload_discovery(endpoint, found.locations)
    status = WARNING if found.problems or found.truncated else SUCCESS
    return JobOutcome(status, discovery.summary(search, found))


# -- PEM management ------------------------------------------------------------------------------------------------


def pem_management(context: JobContext) -> JobOutcome:
    """Add a certificate to, or remove one from, a PEM store."""
    job = _job(context.config)
    store_path = text_field(job, "StorePath")
    context.store.resolve(store_path)  # like the C agent, check the store before anything else
    operation = int_field(job, "OperationType")
    if operation == OPERATION_ADD:
        return _add(context.store, store_path, job)
    if operation == OPERATION_REMOVE:
        return _remove(context.store, store_path, job)
    raise JobError(f"Management operation {operation} is not supported (only 2 Add and 3 Remove).")


def _add(store: PemStore, store_path: str, job: dict[str, Any]) -> JobOutcome:
    if bool_field(job, "PrivateKeyEntry"):
        raise JobError("Adding a certificate with its private key (PFX) is not supported.")
    contents = text_field(job, "EntryContents")
    if not contents:
        raise JobError("The add job has no EntryContents.")
    der = certificate_der(contents)
    if not store.add(store_path, der):
        # The C agent's outcome for a duplicate: a warning, and the store is left as it was.
        return JobOutcome(WARNING, f"The certificate is already in the store {store_path}.")
    return JobOutcome(SUCCESS)


def _remove(store: PemStore, store_path: str, job: dict[str, Any]) -> JobOutcome:
    alias = text_field(job, "Alias")
    if not alias:
        raise JobError("The remove job has no Alias.")
    if not store.remove(store_path, alias, password=_password(job)):
        return JobOutcome(SUCCESS, f"The certificate {alias} was not in the store {store_path}.")
    return JobOutcome(SUCCESS)


def _job(config: dict[str, Any]) -> dict[str, Any]:
    job = field(config, "Job")
    if not isinstance(job, dict):
        raise JobError("The job configuration has no Job object.")
    return job


def _password(job: dict[str, Any]) -> str | None:
    return text_field(job, "StorePassword") or None
