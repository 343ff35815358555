"""What orchestrators send, read into the service's typed values (agent-protocol.md §1–§4). A field of the wrong type
or value is refused with a message that names it: the C agent would otherwise see a silent default."""

import json
import uuid
from typing import Any

from orchjobs.api.body import lenient_guid
from orchjobs.domain.discovery import MAX_LOCATION_LENGTH, MAX_LOCATIONS, Locations
from orchjobs.domain.jobs import COMPLETION_RESULTS, MAX_MESSAGE_LENGTH, AgentPlatform, JobResult
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError, RunNotInFlightError, SessionRefusedError, UploadRefusedError
from orchjobs.service.job_calls import Completion, InventoryDelta, JobCall
from orchjobs.service.sessions import Registration

MAX_NAME = 255
NUL, REPLACEMENT = "\x00", "\ufffd"
MAX_VERSION = 64
_ADD, _MODIFIED, _REMOVE, _UNCHANGED = 1, 2, 3, 4  # an inventory item's ItemStatus


def registration(body: dict[str, Any]) -> Registration:
    """A `Session/Register` body (keys lower-cased)."""
    client_machine = body.get("clientmachine")
    if not isinstance(client_machine, str) or not client_machine.strip():
        raise InvalidRequestError("ClientMachine must be a non-empty string.")
    client_machine = client_machine.strip()
    if len(client_machine) > MAX_NAME:
        raise InvalidRequestError(f"ClientMachine must be at most {MAX_NAME} characters long.")
    return Registration(
        client_machine=client_machine,
        agent_id=_agent_id(body.get("agentid")),
        capabilities=_capabilities(body.get("capabilities")),
        platform=_platform(body.get("agentplatform")),
        version=_version(body.get("agentversion")),
        csr=_optional_string(body.get("csr"), "CSR") or None,
    )


def session_token(body: dict[str, Any]) -> str:
    """The SessionToken every job call carries; a call without one has no session to speak of."""
    token = body.get("sessiontoken")
    if not isinstance(token, str) or NUL in token:
        raise SessionRefusedError()
    return token


def job_call(name: str, body: dict[str, Any]) -> JobCall:
    """The session and job a job call is for; a JobId that is no GUID cannot be a job of the caller's."""
    token = session_token(body)
    value = body.get("jobid")
    job_id = lenient_guid(value)
    if job_id is None:
        raise RunNotInFlightError(f"JobId {str(value)[:64]!r} is not the GUID of a job of this orchestrator.")
    return JobCall(name=name, token=token, job_id=job_id)


def completion(body: dict[str, Any], *, max_data_bytes: int) -> Completion:
    """A `Jobs/Complete` body: Status (2 Success, 3 Warning, 4 Error), AuditId, Message, and Log or Data."""
    status = body.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or status not in COMPLETION_RESULTS:
        what = "not a final status" if status in (0, 1) and not isinstance(status, bool) else "not a valid status"
        raise UploadRefusedError(f"Status {status!r} is {what}; a completion reports 2, 3 or 4.")
    data = _result_data(body.get("log"), body.get("data"), max_bytes=max_data_bytes)
    message = body.get("message")
    text = message if isinstance(message, str) else (None if message is None else str(message))
    if text is not None and len(text) > MAX_MESSAGE_LENGTH:
        raise UploadRefusedError(
            f"The Message is {len(text)} characters long; at most {MAX_MESSAGE_LENGTH} are accepted."
        )
    text, data = _without_nul(text, data, log=body.get("log") is not None)
    return Completion(
        audit_id=lenient_int(body.get("auditid")), result=JobResult(status), message=text or None, data=data
    )


def _without_nul(message: str | None, data: str | None, *, log: bool) -> tuple[str | None, str | None]:
    """The completion's Message and Log or Data with each NUL character (which the database's text cannot hold)
    replaced by U+FFFD, the message saying so: the report of a run is kept rather than lost for one character."""
    replaced = []
    if message is not None and NUL in message:
        replaced.append(f"{message.count(NUL)} in the Message")
        message = message.replace(NUL, REPLACEMENT)
    if data is not None and NUL in data:
        replaced.append(f"{data.count(NUL)} in the {'Log' if log else 'Data'}")
        data = data.replace(NUL, REPLACEMENT)
    if replaced:
        note = f"NUL characters replaced by U+FFFD: {' and '.join(replaced)}."
        message = f"{message} {note}" if message else note
    return message, data


def inventory(body: dict[str, Any], *, max_items: int) -> InventoryDelta:
    """A `Jobs/Inventory` upload: 1 Add and 2 Modified replace an entry, 3 Remove deletes it, 4 Unchanged keeps it;
    a refusal names the first bad item."""
    items = body.get("inventory")
    if not isinstance(items, list):
        raise UploadRefusedError("Inventory must be a list of items.")
    if len(items) > max_items:
        raise UploadRefusedError(
            f"The inventory holds {len(items)} items; at most {max_items} are accepted in one upload."
        )
    upserts: dict[str, tuple[str, str, bool]] = {}
    removals: dict[str, None] = {}
    for index, raw in enumerate(items):
        item = {str(key).lower(): value for key, value in raw.items()} if isinstance(raw, dict) else {}
        alias, status = item.get("alias"), item.get("itemstatus")
        if not isinstance(alias, str) or not alias.strip() or len(alias) > MAX_NAME:
            raise UploadRefusedError(f"Inventory item {index} needs an Alias of 1 to {MAX_NAME} characters.")
        if isinstance(status, bool) or status not in (_ADD, _MODIFIED, _REMOVE, _UNCHANGED):
            raise UploadRefusedError(
                f"Inventory item {index} ({alias}) has ItemStatus {status!r}; expected 1, 2, 3 or 4."
            )
        if status in (_ADD, _MODIFIED):
            certificates = item.get("certificates")
            if not isinstance(certificates, list) or not certificates or not isinstance(certificates[0], str):
                raise UploadRefusedError(f"Inventory item {index} ({alias}) has no certificate in Certificates.")
            upserts[alias] = (alias, certificates[0], item.get("privatekeyentry") is True)
            removals.pop(alias, None)
        elif status == _REMOVE:
            removals[alias] = None
            upserts.pop(alias, None)
    return InventoryDelta(upserts=tuple(upserts.values()), removals=tuple(removals))


def locations(body: dict[str, Any]) -> Locations:
    """The paths a `Jobs/Discovery` upload carries, each once, in the order sent, and the entries refused one by one:
    one entry that cannot be a path (NUL in it, say) must not cost the run the stores it did find. An upload that is
    not a list of at most MAX_LOCATIONS entries is refused whole."""
    value = body.get("locations")
    if not isinstance(value, list):
        raise UploadRefusedError("Locations must be a list of paths.")
    if len(value) > MAX_LOCATIONS:
        raise UploadRefusedError(
            f"Locations holds {len(value)} paths; at most {MAX_LOCATIONS} are accepted in one upload."
        )
    paths: list[str] = []
    refused: list[str] = []
    for index, item in enumerate(value):
        problem = _location_problem(item)
        if problem is None:
            paths.append(item)
        else:
            refused.append(f"Location {index} {problem}")
    return Locations(tuple(dict.fromkeys(paths)), tuple(refused))


def _location_problem(item: object) -> str | None:
    """Why an entry cannot be a store's path, None when it can. The entry is quoted by its repr, which writes a NUL
    or other control character as an escape, so the reason itself can be stored."""
    if not isinstance(item, str) or not item.strip():
        return f"must be a non-empty string, not {str(item)[:64]!r}"
    if len(item) > MAX_LOCATION_LENGTH:
        return f"is {len(item)} characters long; at most {MAX_LOCATION_LENGTH} are accepted"
    if NUL in item:
        return f"({item[:64]!r}) holds a NUL character"
    if any(ord(character) < 32 or ord(character) == 127 for character in item):
        return f"({item[:64]!r}) holds a control character"
    return None


def csr_text(body: dict[str, Any]) -> str:
    """The CSRText of a `Jobs/Enroll` call."""
    value = body.get("csrtext")
    if not isinstance(value, str) or not value.strip():
        raise UploadRefusedError("CSRText must be a base64 DER PKCS#10 certificate request.")
    return value


def _result_data(log_text: object, data: object, *, max_bytes: int) -> str | None:
    """The Log (FetchLogs) or Data (custom jobs, text or JSON) to keep, within the size limit."""
    value = log_text if log_text is not None else data
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        name = "Log" if log_text is not None else "Data"
        raise UploadRefusedError(f"The {name} is {size} bytes; at most {max_bytes} bytes are accepted.")
    return text


def _agent_id(value: Any) -> uuid.UUID | None:
    text = _optional_string(value, "AgentId").strip()
    if not text:
        return None
    found = lenient_guid(text)
    if found is None:
        raise InvalidRequestError(f"AgentId must be a GUID or empty; got {text[:64]!r}.")
    return found


def _capabilities(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError("Capabilities must be a list of strings.")
    if any(len(item) > MAX_NAME for item in value):
        raise InvalidRequestError(f"A capability must be at most {MAX_NAME} characters long.")
    return tuple(value)


def _platform(value: Any) -> int:
    if value is None:
        return AgentPlatform.UNKNOWN
    valid = ", ".join(f"{member.value} {member.name}" for member in AgentPlatform)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"AgentPlatform must be an integer ({valid}).")
    try:
        return AgentPlatform(value)
    except ValueError:
        raise InvalidRequestError(f"AgentPlatform {value} is unknown; it must be one of {valid}.") from None


def _version(value: Any) -> str:
    """A version string; the C agent sends four 16-bit fields packed in one number (major<<48 | …)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value.strip()) > MAX_VERSION:
            raise InvalidRequestError(f"AgentVersion must be at most {MAX_VERSION} characters long.")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise InvalidRequestError("AgentVersion must be a version string or the agent's packed 64-bit number.")
    return ".".join(str(value >> shift & 0xFFFF) for shift in (48, 32, 16, 0))


def _optional_string(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string or null.")
    return value
