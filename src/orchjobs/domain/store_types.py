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
from functools import lru_cache
from typing import Any, TypeVar

from orchjobs.domain.capabilities import capability_guid
from orchjobs.errors import InvalidRequestError

# The operations a store type's jobs perform, as they appear in capabilities (CertStores.<Capability>.<Operation>).
OPERATIONS = ("Inventory", "Management", "Discovery", "Reenrollment")
# Custom store types are numbered from here; the built-in ones below it.
FIRST_CUSTOM_ID = 100
MAX_PROPERTIES = 100
MAX_PROPERTY_VALUE_LENGTH = 4096

E = TypeVar("E", bound=IntEnum)


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

    @property
    def fill_value(self) -> str:
        """What a store that gives no value gets: the default, except that a MultipleChoice whose DefaultValue lists
        its choices has none (unless it names a single choice); `"false"` for a Bool without one, else `""`."""
        if self.type is PropertyType.MULTIPLE_CHOICE and self.choices and self.default_value not in self.choices:
            return ""
        return self.default_value or ("false" if self.type is PropertyType.BOOL else "")


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
            if definition.required and not (definition.default_value and definition.fill_value):
                problems.append(f"{definition.name!r} is required")
                continue
            checked[definition.name] = definition.fill_value
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
            value = definition.fill_value
        merged[key or definition.name] = value
    merged.update({key: stored[key] for key in lowered.values()})
    return merged


# -- definitions of store types, as the API creates, updates and answers them -----------------------------------

MAX_NAME_LENGTH = 255
MAX_SHORT_NAME_LENGTH = 64
MAX_TEXT_LENGTH = MAX_PROPERTY_VALUE_LENGTH


@dataclass(frozen=True)
class RequiredWhen:
    """When an entry parameter must be given (Command's RequiredWhen)."""

    has_private_key: bool = False
    on_add: bool = False
    on_remove: bool = False
    on_reenrollment: bool = False


@dataclass(frozen=True)
class EntryParameter:
    """A value given per entry (certificate) of a store rather than per store: Command's EntryParameters."""

    name: str
    display_name: str
    type: PropertyType
    required_when: RequiredWhen = RequiredWhen()
    depends_on: str = ""
    default_value: str | None = None
    options: str | None = None


@dataclass(frozen=True)
class PasswordOptions:
    entry_supported: bool = False
    store_required: bool = False
    style: PasswordStyle = PasswordStyle.DEFAULT


@dataclass(frozen=True, kw_only=True)
class StoreTypeRequest:
    """What a create or an update asks for, its shape already read (enumerations as members); `capability` None is
    the ShortName, job-type GUIDs None are the type's current ones on an update, else the defaults."""

    name: str
    short_name: str
    capability: str | None = None
    local_store: bool = False
    supported: SupportedOperations = SupportedOperations()
    properties: tuple[PropertyDefinition, ...] = ()
    entry_parameters: tuple[EntryParameter, ...] = ()
    password: PasswordOptions = PasswordOptions()
    store_path_type: str = ""
    store_path_value: str = ""
    private_key_allowed: KeyRule = KeyRule.FORBIDDEN
    custom_alias_allowed: KeyRule = KeyRule.FORBIDDEN
    job_properties: tuple[str, ...] = ()
    server_required: bool = False
    power_shell: bool = False
    blueprint_allowed: bool = False
    import_type: int | None = None
    server_registration: int = 0
    inventory_endpoint: str = ""
    inventory_job_type: uuid.UUID | None = None
    management_job_type: uuid.UUID | None = None
    discovery_job_type: uuid.UUID | None = None
    enrollment_job_type: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class StoreType:
    """A certificate store type as it is kept: what the stores API checks stores and entries against, and what
    orchestrators' jobs are built from."""

    id: int
    name: str
    short_name: str
    capability: str
    built_in: bool = False
    local_store: bool = False
    supported: SupportedOperations = SupportedOperations()
    properties: tuple[PropertyDefinition, ...] = ()
    entry_parameters: tuple[EntryParameter, ...] = ()
    password: PasswordOptions = PasswordOptions()
    store_path_type: str = ""
    store_path_value: str = ""
    private_key_allowed: KeyRule = KeyRule.FORBIDDEN
    custom_alias_allowed: KeyRule = KeyRule.FORBIDDEN
    job_properties: tuple[str, ...] = ()
    server_required: bool = False
    power_shell: bool = False
    blueprint_allowed: bool = False
    import_type: int = 0
    server_registration: int = 0
    inventory_endpoint: str = ""
    job_type_ids: JobTypeIds


def enum_member(enum: type[E], raw: object) -> E | None:
    """A member from its wire name (any case, spaces ignored) or its integer (also as a numeric string); None else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        text = raw.strip().replace(" ", "").lower()
        for value, name in WIRE_NAMES[enum].items():
            if name.lower() == text:
                return enum(value)
        if not text.lstrip("-").isdigit():
            return None
        raw = int(text)
    if isinstance(raw, int) and raw in enum._value2member_map_:
        return enum(raw)
    return None


def choices_of(property_type: PropertyType, default_value: str | None) -> tuple[str, ...]:
    """A MultipleChoice's choices: its DefaultValue read as a comma-separated list (Command's convention)."""
    if property_type is not PropertyType.MULTIPLE_CHOICE or not default_value:
        return ()
    return tuple(choice.strip() for choice in default_value.split(",") if choice.strip())


def checked_store_type(request: StoreTypeRequest, *, store_type_id: int, current: StoreType | None) -> StoreType:
    """The type a create (`current` None) or an update makes, defaults resolved; one 400 naming every problem with
    the names, lengths and lists (whether names are taken is the service's to check)."""
    problems: list[str] = []
    name = request.name.strip()
    short_name = request.short_name.strip()
    capability = short_name if request.capability is None or not request.capability.strip() else request.capability
    capability = capability.strip()
    if not name:
        problems.append("Name is required")
    _bounded(problems, "Name", name, MAX_NAME_LENGTH)
    if not short_name:
        problems.append("ShortName is required")
    elif any(char.isspace() for char in short_name):
        problems.append(f"ShortName may not contain spaces; got {short_name!r}")
    _bounded(problems, "ShortName", short_name, MAX_SHORT_NAME_LENGTH)
    if any(char.isspace() for char in capability):
        problems.append(f"Capability may not contain spaces; got {capability!r}")
    _bounded(problems, "Capability", capability, MAX_NAME_LENGTH)
    for label, value, limit in (
        ("StorePathType", request.store_path_type, MAX_NAME_LENGTH),
        ("StorePathValue", request.store_path_value, MAX_TEXT_LENGTH),
        ("InventoryEndpoint", request.inventory_endpoint, MAX_NAME_LENGTH),
    ):
        _bounded(problems, label, value, limit)
    _check_items(problems, "Properties", [item.name for item in request.properties])
    for index, item in enumerate(request.properties):
        _check_parameter(problems, f"Properties[{index}]", item.display_name, item.depends_on, item.default_value)
    _check_items(problems, "EntryParameters", [item.name for item in request.entry_parameters])
    for index, entry in enumerate(request.entry_parameters):
        where = f"EntryParameters[{index}]"
        _check_parameter(problems, where, entry.display_name, entry.depends_on, entry.default_value)
        _bounded(problems, f"{where}.Options", entry.options or "", MAX_TEXT_LENGTH)
    _check_items(problems, "JobProperties", list(request.job_properties), unique=False)
    if problems:
        raise InvalidRequestError(f"The store type is not valid: {'; '.join(problems)}.")
    return StoreType(
        id=store_type_id,
        name=name,
        short_name=short_name,
        capability=capability,
        built_in=False,
        local_store=request.local_store,
        supported=request.supported,
        properties=request.properties,
        entry_parameters=request.entry_parameters,
        password=request.password,
        store_path_type=request.store_path_type,
        store_path_value=request.store_path_value,
        private_key_allowed=request.private_key_allowed,
        custom_alias_allowed=request.custom_alias_allowed,
        job_properties=request.job_properties,
        server_required=request.server_required,
        power_shell=request.power_shell,
        blueprint_allowed=request.blueprint_allowed,
        import_type=store_type_id if request.import_type is None else request.import_type,
        server_registration=request.server_registration,
        inventory_endpoint=request.inventory_endpoint,
        job_type_ids=_job_type_ids(request, capability, current),
    )


def _job_type_ids(request: StoreTypeRequest, capability: str, current: StoreType | None) -> JobTypeIds:
    """The GUIDs given, else the current ones, else the capability's defaults. A type whose GUIDs were its
    capability's defaults gets the new capability's when the capability changes."""
    base = default_job_type_ids(capability)
    if current is not None and current.job_type_ids != default_job_type_ids(current.capability):
        base = current.job_type_ids
    return JobTypeIds(
        inventory=request.inventory_job_type or base.inventory,
        management=request.management_job_type or base.management,
        discovery=request.discovery_job_type or base.discovery,
        enrollment=request.enrollment_job_type or base.enrollment,
    )


def _bounded(problems: list[str], label: str, value: str, limit: int) -> None:
    if len(value) > limit:
        problems.append(f"{label} may be at most {limit} characters long")


def _check_parameter(
    problems: list[str], where: str, display_name: str, depends_on: str, default_value: str | None
) -> None:
    _bounded(problems, f"{where}.DisplayName", display_name, MAX_NAME_LENGTH)
    _bounded(problems, f"{where}.DependsOn", depends_on, MAX_NAME_LENGTH)
    _bounded(problems, f"{where}.DefaultValue", default_value or "", MAX_TEXT_LENGTH)


def _check_items(problems: list[str], label: str, names: list[str], *, unique: bool = True) -> None:
    """At most MAX_PROPERTIES names, each non-blank and bounded, and (if `unique`) no two alike in any case."""
    if len(names) > MAX_PROPERTIES:
        problems.append(f"{label} may hold at most {MAX_PROPERTIES} items; got {len(names)}")
        return
    seen: dict[str, str] = {}
    for index, name in enumerate(names):
        if not name.strip():
            problems.append(f"{label}[{index}] needs a name")
            continue
        _bounded(problems, f"{label}[{index}]", name, MAX_NAME_LENGTH)
        if unique and name.lower() in seen:
            problems.append(f"{label} names {seen[name.lower()]!r} twice (names ignore case)")
        seen.setdefault(name.lower(), name)


def entry_parameters_to_json(parameters: tuple[EntryParameter, ...]) -> str:
    """Entry parameters as the database keeps them."""
    return json.dumps(
        [
            {
                "name": item.name,
                "display_name": item.display_name,
                "type": int(item.type),
                "required_when": [
                    item.required_when.has_private_key,
                    item.required_when.on_add,
                    item.required_when.on_remove,
                    item.required_when.on_reenrollment,
                ],
                "depends_on": item.depends_on,
                "default_value": item.default_value,
                "options": item.options,
            }
            for item in parameters
        ]
    )


@lru_cache(maxsize=256)
def entry_parameters_from_json(text: str | None) -> tuple[EntryParameter, ...]:
    if not text:
        return ()
    return tuple(
        EntryParameter(
            name=item["name"],
            display_name=item.get("display_name") or item["name"],
            type=PropertyType(item.get("type", 0)),
            required_when=RequiredWhen(*(bool(flag) for flag in item.get("required_when") or ())),
            depends_on=item.get("depends_on") or "",
            default_value=item.get("default_value"),
            options=item.get("options"),
        )
        for item in json.loads(text)
    )


def answered_properties(properties: str | None, definitions: str | None) -> str:
    """A store's Properties as the API answers them, a string of JSON (Command's form), with the values of the type's
    Secret properties blanked: they are handed to orchestrators, never shown."""
    try:
        values = parse_properties(properties)
        secret = secret_property_names(definitions)
    except (InvalidRequestError, ValueError, KeyError, TypeError):
        return "{}"
    return json.dumps({key: ("" if key.lower() in secret else value) for key, value in values.items()})


@lru_cache(maxsize=256)
def secret_property_names(definitions: str | None) -> frozenset[str]:
    """The lower-cased names of a type's Secret properties; a page of stores shares a few types, read once each."""
    return frozenset(
        item.name.lower() for item in definitions_from_json(definitions) if item.type is PropertyType.SECRET
    )
