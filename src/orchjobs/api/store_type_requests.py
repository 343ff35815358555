"""What CertificateStoreTypeCreationRequest and CertificateStoreTypeUpdateRequest carry, read into the domain's
StoreTypeRequest: Command's shape, and as well a definition the way Keyfactor's integration manifests (and so kfutil)
write one. Keys are matched case-insensitively at every depth and unknown keys ignored (the manifests carry
`Description`, `IsPAMEligible`, `StorePassword`, `"StoreTypeId;omitempty"`…). Enumerations are names (any case) or
integers. Only the shape is checked here; names, lengths and counts are the domain's (`checked_store_type`)."""

import json
import uuid
from enum import IntEnum
from typing import Any, TypeVar

from starlette.requests import Request

from orchjobs.api import body
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.store_types import (
    MAX_PROPERTIES,
    WIRE_NAMES,
    EntryParameter,
    KeyRule,
    PasswordOptions,
    PasswordStyle,
    PropertyDefinition,
    PropertyType,
    RequiredWhen,
    StoreTypeRequest,
    SupportedOperations,
    choices_of,
    enum_member,
)
from orchjobs.errors import InvalidRequestError

E = TypeVar("E", bound=IntEnum)

# The job-type GUIDs: Command's creation request names them …JobTypeId, its response (and so the Go client's
# CertificateStoreType, which kfutil posts) …JobType.
_JOB_TYPE_KEYS = {
    "inventory_job_type": ("InventoryJobTypeId", "InventoryJobType"),
    "management_job_type": ("ManagementJobTypeId", "ManagementJobType"),
    "discovery_job_type": ("DiscoveryJobTypeId", "DiscoveryJobType"),
    "enrollment_job_type": ("EnrollmentJobTypeId", "EnrollmentJobType"),
}


async def read_create(request: Request) -> StoreTypeRequest:
    return store_type_request(await body.read_object(request))


async def read_update(request: Request) -> tuple[int, StoreTypeRequest]:
    """The StoreType (id) of the type to update, and what it becomes."""
    payload = await body.read_object(request)
    raw_id = payload.get("storetype")
    store_type_id = body.int64(raw_id)
    # Store type ids are int32 (the column's type): a larger one names no type, and must not reach the database.
    if store_type_id is None or not -(2**31) <= store_type_id < 2**31:
        given = "" if raw_id is None else f"; got {json.dumps(raw_id)}"
        raise InvalidRequestError(f"StoreType is required: the integer id of the store type to update{given}.")
    return store_type_id, store_type_request(payload)


def store_type_request(payload: dict[str, Any]) -> StoreTypeRequest:
    """A request body (keys lower-cased at the top) as a StoreTypeRequest; one 400 naming every malformed value."""
    reader = _Reader()
    name = reader.string(payload, "Name")
    short_name = reader.string(payload, "ShortName")
    if name is None:
        reader.problems.append("Name is required")
    if short_name is None:
        reader.problems.append("ShortName is required")
    supported = reader.object(payload, "SupportedOperations")
    password = reader.object(payload, "PasswordOptions")
    guids = {field: reader.guid(payload, keys) for field, keys in _JOB_TYPE_KEYS.items()}
    request = StoreTypeRequest(
        name=name or "",
        short_name=short_name or "",
        capability=reader.string(payload, "Capability"),
        local_store=reader.flag(payload, "LocalStore"),
        supported=SupportedOperations(
            add=reader.flag(supported, "Add", "SupportedOperations."),
            create=reader.flag(supported, "Create", "SupportedOperations."),
            discovery=reader.flag(supported, "Discovery", "SupportedOperations."),
            enrollment=reader.flag(supported, "Enrollment", "SupportedOperations."),
            remove=reader.flag(supported, "Remove", "SupportedOperations."),
        ),
        properties=tuple(reader.items(payload, "Properties", reader.property)),
        entry_parameters=tuple(reader.items(payload, "EntryParameters", reader.entry_parameter)),
        password=PasswordOptions(
            entry_supported=reader.flag(password, "EntrySupported", "PasswordOptions."),
            store_required=reader.flag(password, "StoreRequired", "PasswordOptions."),
            style=reader.enum(password, "Style", PasswordStyle, PasswordStyle.DEFAULT, "PasswordOptions."),
        ),
        store_path_type=reader.string(payload, "StorePathType") or "",
        store_path_value=reader.string(payload, "StorePathValue") or "",
        private_key_allowed=reader.enum(payload, "PrivateKeyAllowed", KeyRule, KeyRule.FORBIDDEN),
        custom_alias_allowed=reader.enum(payload, "CustomAliasAllowed", KeyRule, KeyRule.FORBIDDEN),
        job_properties=tuple(reader.items(payload, "JobProperties", reader.job_property)),
        server_required=reader.flag(payload, "ServerRequired"),
        power_shell=reader.flag(payload, "PowerShell"),
        blueprint_allowed=reader.flag(payload, "BlueprintAllowed"),
        import_type=reader.integer(payload, "ImportType"),
        server_registration=reader.integer(payload, "ServerRegistration") or 0,
        inventory_endpoint=reader.string(payload, "InventoryEndpoint") or "",
        **guids,
    )
    if reader.problems:
        raise InvalidRequestError(f"The store type is not valid: {'; '.join(reader.problems)}.")
    return request


def _lowered(value: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): item for key, item in value.items()}


class _Reader:
    """Reads values out of lower-cased objects, collecting what is wrong rather than stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def string(self, values: dict[str, Any], key: str, where: str = "") -> str | None:
        value = values.get(key.lower())
        if value is None or isinstance(value, str):
            return value
        self.problems.append(f"{where}{key} must be a string, not {json.dumps(value)[:80]}")
        return None

    def text(self, values: dict[str, Any], key: str, where: str) -> str | None:
        """A string; numbers and booleans as their JSON text (`true`), as the Go client's interface{} may send."""
        value = values.get(key.lower())
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return json.dumps(value)
        return self.string(values, key, where)

    def flag(self, values: dict[str, Any], key: str, where: str = "") -> bool:
        value = values.get(key.lower())
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.problems.append(f"{where}{key} must be true or false, not {json.dumps(value)[:80]}")
        return False

    def integer(self, values: dict[str, Any], key: str) -> int | None:
        value = values.get(key.lower())
        if value is None:
            return None
        number = lenient_int(value)
        if number is None or not -(2**31) <= number < 2**31:
            self.problems.append(f"{key} must be a 32-bit integer, not {json.dumps(value)[:80]}")
        return number

    def enum(self, values: dict[str, Any], key: str, enum: type[E], default: E, where: str = "") -> E:
        """A member of `enum` from its name (any case) or integer; absent or null is `default`."""
        value = values.get(key.lower())
        if value is None:
            return default
        member = enum_member(enum, value)
        if member is None:
            names = ", ".join(f"{name} ({number})" for number, name in WIRE_NAMES[enum].items())
            self.problems.append(f"{where}{key} must be one of {names}, not {json.dumps(value)[:80]}")
            return default
        return member

    def object(self, values: dict[str, Any], key: str) -> dict[str, Any]:
        value = values.get(key.lower())
        if value is None:
            return {}
        if isinstance(value, dict):
            return _lowered(value)
        self.problems.append(f"{key} must be an object, not {json.dumps(value)[:80]}")
        return {}

    def guid(self, values: dict[str, Any], keys: tuple[str, ...]) -> uuid.UUID | None:
        for key in keys:
            value = values.get(key.lower())
            if value is None or value == "":
                continue
            found = body.lenient_guid(value)
            if found is None:
                self.problems.append(f"{key} must be a GUID, not {json.dumps(value)[:80]}")
            return found
        return None

    def items(self, values: dict[str, Any], key: str, read: Any) -> list[Any]:
        """The items of an array (None or absent: none), each read by `read(item, where)`; more than
        MAX_PROPERTIES is refused before any is read."""
        value = values.get(key.lower())
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(f"{key} must be an array")
            return []
        if len(value) > MAX_PROPERTIES:
            self.problems.append(f"{key} may hold at most {MAX_PROPERTIES} items; got {len(value)}")
            return []
        read_items = [read(item, f"{key}[{index}]") for index, item in enumerate(value)]
        return [item for item in read_items if item is not None]

    def job_property(self, item: Any, where: str) -> str | None:
        if isinstance(item, str):
            return item
        self.problems.append(f"{where} must be a string")
        return None

    def property(self, item: Any, where: str) -> PropertyDefinition | None:
        if not isinstance(item, dict):
            self.problems.append(f"{where} must be an object")
            return None
        values = _lowered(item)
        name = self.string(values, "Name", f"{where}.")
        if name is None:
            self.problems.append(f"{where}.Name is required")
            return None
        property_type = self.enum(values, "Type", PropertyType, PropertyType.STRING, f"{where}.")
        default_value = self.text(values, "DefaultValue", f"{where}.")
        return PropertyDefinition(
            name=name,
            display_name=self.string(values, "DisplayName", f"{where}.") or name,
            type=property_type,
            required=self.flag(values, "Required", f"{where}."),
            default_value=default_value,
            depends_on=self.text(values, "DependsOn", f"{where}.") or "",
            choices=choices_of(property_type, default_value),
        )

    def entry_parameter(self, item: Any, where: str) -> EntryParameter | None:
        if not isinstance(item, dict):
            self.problems.append(f"{where} must be an object")
            return None
        values = _lowered(item)
        name = self.string(values, "Name", f"{where}.")
        if name is None:
            self.problems.append(f"{where}.Name is required")
            return None
        when = values.get("requiredwhen")
        if when is not None and not isinstance(when, dict):
            self.problems.append(f"{where}.RequiredWhen must be an object")
        when_values = _lowered(when) if isinstance(when, dict) else {}
        inner = f"{where}.RequiredWhen."
        return EntryParameter(
            name=name,
            display_name=self.string(values, "DisplayName", f"{where}.") or name,
            type=self.enum(values, "Type", PropertyType, PropertyType.STRING, f"{where}."),
            required_when=RequiredWhen(
                has_private_key=self.flag(when_values, "HasPrivateKey", inner),
                on_add=self.flag(when_values, "OnAdd", inner),
                on_remove=self.flag(when_values, "OnRemove", inner),
                on_reenrollment=self.flag(when_values, "OnReenrollment", inner),
            ),
            depends_on=self.text(values, "DependsOn", f"{where}.") or "",
            default_value=self.text(values, "DefaultValue", f"{where}."),
            options=self.text(values, "Options", f"{where}."),
        )
