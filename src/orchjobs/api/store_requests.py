"""What the /CertificateStores requests carry, read the way ASP.NET binds them (keys in any case) into the
service's typed values; a 400 naming the field for anything of the wrong shape."""

import uuid
from typing import Any

from orchjobs.api.body import lenient_guid
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.store_types import parse_properties
from orchjobs.errors import InvalidRequestError
from orchjobs.service.store_jobs import AddEntry, DiscoveryRequest, ReenrollmentRequest, RemoveEntry
from orchjobs.service.stores import ApprovalRequest, StoreRequest

MAX_ENTRIES = 10_000
_DISCOVERY_TEXT = ("dirs", "ignoreddirs", "extensions", "namepatterns", "serverusername", "serverpassword")
_DISCOVERY_FLAGS = ("symlinks", "compatibility", "serverusessl")
_DISCOVERY_NAMES = {
    "dirs": "Dirs",
    "ignoreddirs": "IgnoredDirs",
    "extensions": "Extensions",
    "namepatterns": "NamePatterns",
    "serverusername": "ServerUsername",
    "serverpassword": "ServerPassword",
    "symlinks": "SymLinks",
    "compatibility": "Compatibility",
    "serverusessl": "ServerUseSsl",
}


def store(body: dict[str, Any], *, update: bool) -> StoreRequest:
    """A POST (create) or PUT (update, by Id) of a store."""
    store_id = guid(body, "id", required=update) if update else None
    schedules = "inventoryschedule" in body and body["inventoryschedule"] is not None
    return StoreRequest(
        store_id=store_id,
        agent_id=guid(body, "agentid", required=not update),
        store_type_id=None if update else integer(body, "certstoretype", required=True),
        client_machine=text(body, "clientmachine"),
        store_path=None if update else text(body, "storepath"),
        display_name=text(body, "displayname"),
        properties=properties(body),
        container_id=integer(body, "containerid"),
        create_if_missing=flag(body, "createifmissing"),
        password=secret(body.get("password"), "Password"),
        inventory_schedule=body.get("inventoryschedule") if schedules else None,
        schedules=schedules,
    )


def approvals(items: list[Any]) -> list[ApprovalRequest]:
    if not items:
        raise InvalidRequestError("The request body must name at least one certificate store to approve.")
    _bounded(items)
    found = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            found.append(ApprovalRequest(store_id=_guid(item, f"item {index}")))
            continue
        entry = _object(item, f"item {index}")
        found.append(
            ApprovalRequest(
                store_id=guid(entry, "id", required=True),
                container_id=integer(entry, "containerid"),
                store_type_id=integer(entry, "certstoretype"),
                properties=properties(entry),
                password=secret(entry.get("password"), "Password"),
            )
        )
    return found


def add_entries(body: dict[str, Any]) -> tuple[int, list[AddEntry], Any]:
    certificate_id = integer(body, "certificateid", required=True)
    assert certificate_id is not None
    entries = []
    for index, item in enumerate(_list(body, "certificatestores")):
        entry = _object(item, f"CertificateStores[{index}]")
        entries.append(
            AddEntry(
                store_id=guid(entry, "certificatestoreid", required=True),
                alias=text(entry, "alias"),
                overwrite=bool(flag(entry, "overwrite")),
                entry_password=secret(entry.get("entrypassword"), "EntryPassword"),
                pfx_password=text(entry, "pfxpassword"),
                include_private_key=bool(flag(entry, "includeprivatekey")),
                job_fields=_fields(entry, "jobfields"),
            )
        )
    return certificate_id, entries, body.get("schedule")


def remove_entries(body: dict[str, Any]) -> tuple[list[RemoveEntry], Any]:
    entries = []
    for index, item in enumerate(_list(body, "certificatestores")):
        entry = _object(item, f"CertificateStores[{index}]")
        entries.append(
            RemoveEntry(
                store_id=guid(entry, "certificatestoreid", required=True),
                alias=text(entry, "alias") or "",
                job_fields=_fields(entry, "jobfields"),
            )
        )
    return entries, body.get("schedule")


def discovery(body: dict[str, Any]) -> DiscoveryRequest:
    store_type_id = integer(body, "type", required=True)
    assert store_type_id is not None
    fields: dict[str, Any] = {}
    for key in _DISCOVERY_TEXT:
        value = secret(body.get(key), _DISCOVERY_NAMES[key]) if key.startswith("server") else text(body, key)
        if value is not None:
            fields[_DISCOVERY_NAMES[key]] = value
    for key in _DISCOVERY_FLAGS:
        switch = flag(body, key)
        if switch is not None:
            fields[_DISCOVERY_NAMES[key]] = switch
    when = text(body, "jobexecutiontimestamp")
    schedule: dict[str, Any] = {"ExactlyOnce": {"Time": when}} if when else {"Immediate": True}
    return DiscoveryRequest(
        store_type_id=store_type_id,
        agent_id=guid(body, "agentid"),
        client_machine=text(body, "clientmachine"),
        schedule=schedule,
        fields=fields,
    )


def reenrollment(body: dict[str, Any]) -> ReenrollmentRequest:
    return ReenrollmentRequest(
        store_id=guid(body, "keystoreid", required=True),
        agent_id=guid(body, "agentguid"),
        subject=text(body, "subjectname") or "",
        alias=text(body, "alias"),
        job_properties=_fields(body, "jobproperties"),
    )


def guid(body: dict[str, Any], key: str, *, required: bool = False) -> Any:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise InvalidRequestError(f"{_name(key)} is required.")
        return None
    return _guid(value, _name(key))


def integer(body: dict[str, Any], key: str, *, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidRequestError(f"{_name(key)} is required.")
        return None
    number = lenient_int(value)
    if number is None or not -(2**31) <= number < 2**31:
        raise InvalidRequestError(f"{_name(key)} must be an integer, not {value!r}.")
    return number


def text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{_name(key)} must be a string.")
    return value


def flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidRequestError(f"{_name(key)} must be true or false.")


def secret(value: Any, name: str) -> str | None:
    """A secret as Command's clients send it: a string, or {"SecretValue": …} / {"Value": …}."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in ("secretvalue", "value"):
                return secret(item, name)
        return None
    raise InvalidRequestError(f'{name} must be a string or {{"SecretValue": "…"}}.')


def properties(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("properties")
    if value is None:
        return None
    if not isinstance(value, str | dict):
        raise InvalidRequestError("Properties must be a JSON object (or a string holding one).")
    return parse_properties(value)


def _fields(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{_name(key)} must be a JSON object.")
    return value


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise InvalidRequestError(f"{_name(key)} must be a JSON array.")
    _bounded(value)
    return value


def _object(item: Any, label: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidRequestError(f"{label} must be a JSON object.")
    return {str(key).lower(): value for key, value in item.items()}


def _guid(value: Any, label: str) -> uuid.UUID:
    found = lenient_guid(value)
    if found is None:
        raise InvalidRequestError(f"{label} must be a GUID, not {value!r}.")
    return found


def _bounded(items: list[Any]) -> None:
    if len(items) > MAX_ENTRIES:
        raise InvalidRequestError(f"A request may name at most {MAX_ENTRIES} items; got {len(items)}.")


_NAMES = {
    "id": "Id",
    "agentid": "AgentId",
    "certstoretype": "CertStoreType",
    "containerid": "ContainerId",
    "createifmissing": "CreateIfMissing",
    "clientmachine": "ClientMachine",
    "storepath": "Storepath",
    "displayname": "DisplayName",
    "certificateid": "CertificateId",
    "certificatestores": "CertificateStores",
    "certificatestoreid": "CertificateStoreId",
    "alias": "Alias",
    "overwrite": "Overwrite",
    "includeprivatekey": "IncludePrivateKey",
    "pfxpassword": "PfxPassword",
    "jobfields": "JobFields",
    "type": "Type",
    "keystoreid": "KeystoreId",
    "agentguid": "AgentGuid",
    "subjectname": "SubjectName",
    "jobproperties": "JobProperties",
    "jobexecutiontimestamp": "JobExecutionTimestamp",
    **_DISCOVERY_NAMES,
}


def _name(key: str) -> str:
    return _NAMES.get(key, key)
