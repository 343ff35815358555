"""Certificate store types: what a type declares (its properties, entry parameters, which operations it supports,
the job-type GUIDs orchestrators know its jobs by), the two built in, and how a store's Properties are checked
against its type's property definitions.

Enumerations travel as names on the wire (`"Type": "Bool"`, `"PrivateKeyAllowed": "Optional"`): that is what
Keyfactor's Go client and kfutil decode, and what the integration manifests kfutil posts write. Requests may give
the names (any case) or Command's integers.
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from orchjobs.domain.capabilities import capability_guid
from orchjobs.errors import InvalidRequestError

# The operations a store type's jobs perform, as they appear in capabilities (CertStores.<Capability>.<Operation>).
OPERATIONS = ("Inventory", "Management", "Discovery", "Reenrollment")
# Custom store types are numbered from here; the built-in ones below it.
FIRST_CUSTOM_ID = 100
MAX_PROPERTIES = 100
MAX_PROPERTY_VALUE_LENGTH = 4096


class PropertyType(IntEnum):
    """The type of a store type's property or entry parameter (Command's CertificateStoreTypePropertyType)."""

    STRING = 0
    MULTIPLE_CHOICE = 1
    BOOL = 2
    SECRET = 3


class KeyRule(IntEnum):
    """Whether entries of a store may, must or must not have a private key (PrivateKeyAllowed), or a custom alias
    (CustomAliasAllowed)."""

    FORBIDDEN = 0
    OPTIONAL = 1
    REQUIRED = 2


class PasswordStyle(IntEnum):
    DEFAULT = 0
    CUSTOM = 1


# The wire names of each enumeration, in Command's spelling.
WIRE_NAMES: dict[type[IntEnum], dict[int, str]] = {
    PropertyType: {0: "String", 1: "MultipleChoice", 2: "Bool", 3: "Secret"},
    KeyRule: {0: "Forbidden", 1: "Optional", 2: "Required"},
    PasswordStyle: {0: "Default", 1: "Custom"},
}


def wire_name(value: IntEnum) -> str:
    return WIRE_NAMES[type(value)][int(value)]


@dataclass(frozen=True)
class PropertyDefinition:
    """One property of a store type. `default_value` is text in the property's canonical form (`"true"`)."""

    name: str
    display_name: str
    type: PropertyType
    required: bool = False
    default_value: str | None = None
    depends_on: str = ""
    # MultipleChoice: the comma-separated choices (Command keeps them in DefaultValue).
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobTypeIds:
    """The JobTypeId orchestrators are handed for each operation on stores of a type."""

    inventory: uuid.UUID
    management: uuid.UUID
    discovery: uuid.UUID
    enrollment: uuid.UUID

    def for_operation(self, operation: str) -> uuid.UUID:
        return {
            "Inventory": self.inventory,
            "Management": self.management,
            "Discovery": self.discovery,
            "Reenrollment": self.enrollment,
        }[operation]


def default_job_type_ids(capability: str) -> JobTypeIds:
    """The GUIDs of a type that names none: the C agent's for PEM and JKS, else derived from the capability."""
    guids = [capability_guid(f"CertStores.{capability}.{operation}") for operation in OPERATIONS]
    return JobTypeIds(*guids)


@dataclass(frozen=True)
class SupportedOperations:
    add: bool = False
    create: bool = False
    discovery: bool = False
    enrollment: bool = False
    remove: bool = False


@dataclass(frozen=True)
class BuiltInStoreType:
    id: int
    name: str
    short_name: str
    supported: SupportedOperations
    properties: tuple[PropertyDefinition, ...] = ()
    private_key_allowed: KeyRule = KeyRule.OPTIONAL
    custom_alias_allowed: KeyRule = KeyRule.FORBIDDEN
    password_entry_supported: bool = False
    password_store_required: bool = False
    local_store: bool = True
    job_properties: tuple[str, ...] = field(default=())


# The C orchestrator's PEM stores (agent-protocol.md §4.4–§4.6): its Reenrollment reads `separatePrivateKey` as a
# JSON string and crashes without it, so the type declares it with a default every store carries.
PEM = BuiltInStoreType(
    id=2,
    name="PEM File",
    short_name="PEM",
    supported=SupportedOperations(add=True, discovery=True, enrollment=True, remove=True),
    properties=(
        PropertyDefinition("separatePrivateKey", "Separate Private Key", PropertyType.BOOL, default_value="false"),
        PropertyDefinition("privateKeyPath", "Private Key Path", PropertyType.STRING, depends_on="separatePrivateKey"),
    ),
)
JKS = BuiltInStoreType(
    id=1,
    name="Java Keystore",
    short_name="JKS",
    supported=SupportedOperations(add=True, discovery=True, enrollment=True, remove=True),
    custom_alias_allowed=KeyRule.REQUIRED,
    password_entry_supported=True,
    password_store_required=True,
)
BUILT_IN_STORE_TYPES = (JKS, PEM)


def checked_properties(definitions: tuple[PropertyDefinition, ...], given: Mapping[str, Any]) -> dict[str, str]:
    """A store's Properties checked against its type's definitions: every property present (defaults filled in,
    in the order declared), values in their canonical text; unknown, missing required and mistyped properties
    named in one 400. Keys match definitions case-insensitively and are answered in the declared spelling."""
    by_name = {definition.name.lower(): definition for definition in definitions}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in given.items():
        definition = by_name.get(key.lower())
        if definition is None:
            problems.append(f"{key!r} is not a property of this store type")
            continue
        values[definition.name] = value
    checked: dict[str, str] = {}
    for definition in definitions:
        value = _secret_value(values.get(definition.name))
        if value is None or value == "":
            if definition.required and definition.default_value in (None, ""):
                problems.append(f"{definition.name!r} is required")
                continue
            checked[definition.name] = definition.default_value or (
                "false" if definition.type is PropertyType.BOOL else ""
            )
            continue
        text, problem = _canonical(definition, value)
        if problem:
            problems.append(problem)
        else:
            checked[definition.name] = text
    if problems:
        raise InvalidRequestError(f"Properties are not valid for this store type: {'; '.join(problems)}.")
    return checked


def parse_properties(text: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """Properties as clients send them: a JSON object, or a string holding one (Command's form); 400 otherwise."""
    if text is None:
        return {}
    if isinstance(text, Mapping):
        return dict(text)
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidRequestError("Properties must be a JSON object (or a string holding one).") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("Properties must be a JSON object (or a string holding one).")
    return value


def _secret_value(value: Any) -> Any:
    """A property's value; secrets come wrapped as Command's clients send them, `{"value": {"SecretValue": …}}`,
    `{"value": …}` or `{"SecretValue": …}`."""
    for _ in range(2):
        if not isinstance(value, dict):
            return value
        value = next((item for key, item in value.items() if key.lower() in ("value", "secretvalue")), value)
        if isinstance(value, dict) and not any(key.lower() in ("value", "secretvalue") for key in value):
            return value
    return value


def _canonical(definition: PropertyDefinition, value: Any) -> tuple[str, str | None]:
    name = definition.name
    if isinstance(value, list | dict):
        return "", f"{name!r} must be a single value, not {type(value).__name__}"
    if definition.type is PropertyType.BOOL:
        if isinstance(value, bool):
            return ("true" if value else "false"), None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower(), None
        return "", f"{name!r} must be true or false, not {value!r}"
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > MAX_PROPERTY_VALUE_LENGTH:
        return "", f"{name!r} may be at most {MAX_PROPERTY_VALUE_LENGTH} characters long"
    if definition.type is PropertyType.MULTIPLE_CHOICE and definition.choices and text not in definition.choices:
        return "", f"{name!r} must be one of {', '.join(definition.choices)}, not {text!r}"
    return text, None


def definitions_to_json(definitions: tuple[PropertyDefinition, ...]) -> str:
    """Property definitions as the database keeps them."""
    return json.dumps(
        [
            {
                "name": item.name,
                "display_name": item.display_name,
                "type": int(item.type),
                "required": item.required,
                "default_value": item.default_value,
                "depends_on": item.depends_on,
                "choices": list(item.choices),
            }
            for item in definitions
        ]
    )


def definitions_from_json(text: str | None) -> tuple[PropertyDefinition, ...]:
    if not text:
        return ()
    return tuple(
        PropertyDefinition(
            name=item["name"],
            display_name=item.get("display_name") or item["name"],
            type=PropertyType(item.get("type", 0)),
            required=bool(item.get("required")),
            default_value=item.get("default_value"),
            depends_on=item.get("depends_on") or "",
            choices=tuple(item.get("choices") or ()),
        )
        for item in json.loads(text)
    )


def with_defaults(definitions: tuple[PropertyDefinition, ...], properties: str | None) -> dict[str, Any]:
    """A store's properties as orchestrators are handed them: every property of its type present, the store's
    value where it has one, else the type's default (`"false"` for a Bool without one, `""` otherwise). Properties
    the type does not declare (stores written before their type said so) are kept, and keys keep the store's
    spelling (the C orchestrator reads `privateKeyPath` in one job and `PrivateKeyPath` in another)."""
    try:
        stored = parse_properties(properties)
    except InvalidRequestError:
        stored = {}
    lowered = {key.lower(): key for key in stored}
    merged: dict[str, Any] = {}
    for definition in definitions:
        key = lowered.pop(definition.name.lower(), None)
        value = stored.get(key) if key is not None else None
        if value is None or value == "":
            value = definition.default_value or ("false" if definition.type is PropertyType.BOOL else "")
        merged[key or definition.name] = value
    merged.update({key: stored[key] for key in lowered.values()})
    return merged
