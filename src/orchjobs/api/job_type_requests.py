"""What JobTypeCreateRequest and JobTypeUpdateRequest carry, read into the service's JobTypeRequest (keys matched
case-insensitively). Only the shape is checked here; what the values may be is the domain's (domain.job_types)."""

import json
import uuid
from typing import Any

from starlette.requests import Request

from orchjobs.api import body
from orchjobs.domain.job_types import FieldRequest, Scalar
from orchjobs.errors import InvalidRequestError
from orchjobs.service.job_types import JobTypeRequest

_FIELD_EXAMPLE = '{"Name": "ServiceName", "Type": "String", "DefaultValue": "W3SVC", "Required": true}'


async def read_create(request: Request) -> JobTypeRequest:
    return _job_type(await body.read_object(request))


async def read_update(request: Request) -> tuple[uuid.UUID, JobTypeRequest]:
    """The Id of the type to update, and what to set."""
    payload = await body.read_object(request)
    raw_id = payload.get("id")
    job_type_id = body.lenient_guid(raw_id)
    if job_type_id is None:
        given = "" if raw_id is None else f"; got {json.dumps(raw_id)}"
        raise InvalidRequestError(f"Id is required: the custom job type's GUID{given}.")
    return job_type_id, _job_type(payload)


def _job_type(payload: dict[str, Any]) -> JobTypeRequest:
    name = body.optional_string(payload, "JobTypeName")
    if name is None:
        raise InvalidRequestError("JobTypeName is required.")
    return JobTypeRequest(
        name=name,
        description=body.optional_string(payload, "Description"),
        fields=_fields(payload.get("jobtypefields")),
    )


def _fields(raw: Any) -> list[FieldRequest] | None:
    """The fields in the order given; a 400 that names every malformed one."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidRequestError(f"JobTypeFields must be an array of fields such as {_FIELD_EXAMPLE}.")
    fields: list[FieldRequest] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        read = _field(item, f"JobTypeFields[{index}]")
        if isinstance(read, FieldRequest):
            fields.append(read)
        else:
            problems.extend(read)
    if problems:
        raise InvalidRequestError("The job type's fields are not valid: " + "; ".join(problems) + ".")
    return fields


def _field(item: Any, where: str) -> FieldRequest | list[str]:
    """One field, or what is wrong with its shape."""
    if not isinstance(item, dict):
        return [f"{where} must be an object such as {_FIELD_EXAMPLE}"]
    values = {str(key).lower(): value for key, value in item.items()}
    name, field_type = values.get("name"), values.get("type")
    default, required = values.get("defaultvalue"), _flag(values.get("required"))
    problems = []
    if not isinstance(name, str):
        problems.append(f"{where}.Name is required (a string)")
    if isinstance(field_type, bool) or not isinstance(field_type, int | str):
        problems.append(f"{where}.Type is required: 1 (String), 2 (Int), 3 (DateTime) or 4 (Bool)")
    if default is not None and not isinstance(default, str | int | float | bool):
        problems.append(f"{where}.DefaultValue must be text, a number or a boolean")
    if required is None:
        problems.append(f"{where}.Required must be true or false")
    if problems or not isinstance(field_type, int | str):
        return problems
    scalar: Scalar | None = default
    return FieldRequest(name=str(name), type=field_type, default_value=scalar, required=bool(required))


def _flag(raw: Any) -> bool | None:
    """A boolean, or "true"/"false" in any case (as Newtonsoft binds them); absent is false, None is malformed."""
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    return None
