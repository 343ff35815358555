"""Custom job types and the values of their fields (keyfactor-api.md §7): what a definition may say, and how a
job's JobFields are checked against it.

A field has a Type, 1 String, 2 Int, 3 DateTime or 4 Bool (Command's DataType; 5 exists but is unnamed, and no
orchestrator knows it), written as an integer or a name. Values are stored and handed to orchestrators as canonical
text: Int as decimal digits, Bool as `true`/`false`, DateTime as `YYYY-MM-DDTHH:MM:SSZ` (UTC, fractions kept), so
that an orchestrator parses every value the same way whatever the client sent.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError

# Built-in job types are not custom job types: they are not listed, edited or deleted through /JobTypes/Custom.
BUILT_IN_JOB_TYPES = ("Inventory", "Management", "Discovery", "Reenrollment", "FetchLogs")
FETCH_LOGS_JOB_TYPE = "FetchLogs"
MAX_NAME_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 4000
MAX_FIELDS = 100
MAX_FIELD_NAME_LENGTH = 128
MAX_VALUE_LENGTH = 32768
# Int is .NET's Int32.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Capabilities (`Custom.<Name>`) are compared ASCII-case-insensitively on both databases and reported in ASCII by
# orchestrators, so a name is printable ASCII without spaces (Command: "should not contain spaces").
_NAME = re.compile(r"[!-~]+", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Scalar = str | int | float | bool


class FieldType(IntEnum):
    """The type of a custom job type's field; the integers are Command's."""

    STRING = 1
    INT = 2
    DATETIME = 3
    BOOL = 4


_FIELD_TYPE_NAMES = {
    "string": FieldType.STRING,
    "int": FieldType.INT,
    "integer": FieldType.INT,
    "int32": FieldType.INT,
    "datetime": FieldType.DATETIME,
    "bool": FieldType.BOOL,
    "boolean": FieldType.BOOL,
}
_EXPECTED_TYPES = "1 (String), 2 (Int), 3 (DateTime) or 4 (Bool)"


@dataclass(frozen=True)
class FieldRequest:
    """One field as a request declares it: the type still as written (an integer or a name), the default value as
    any JSON scalar."""

    name: str
    type: int | str
    default_value: Scalar | None = None
    required: bool = False


@dataclass(frozen=True)
class JobTypeField:
    """One field of a job type, checked: its default value (if any) canonical for its type."""

    name: str
    type: FieldType
    default_value: str | None
    required: bool


# FetchLogs declares no fields of its own; Jobs/Configuration reads this one when a job carries it.
FETCH_LOGS_FIELDS = (JobTypeField("MaxCharactersToReturn", FieldType.INT, None, False),)


def checked_name(name: str) -> str:
    """The job type name, or a 400 that says what is wrong with it."""
    if not name:
        raise InvalidRequestError("JobTypeName is required.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"JobTypeName may be at most {MAX_NAME_LENGTH} characters long.")
    if not _NAME.fullmatch(name):
        raise InvalidRequestError(
            f"JobTypeName {_quoted(name)} must not contain spaces and must be printable ASCII "
            "(orchestrators report it as the capability Custom.<JobTypeName>)."
        )
    return name


def checked_description(description: str | None) -> str | None:
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidRequestError(f"Description may be at most {MAX_DESCRIPTION_LENGTH} characters long.")
    if description is not None and "\x00" in description:
        raise InvalidRequestError("Description must not contain NUL characters.")
    return description


def is_name(text: str) -> bool:
    """Whether the text could be a job type's name (a lookup of anything else finds nothing)."""
    return len(text) <= MAX_NAME_LENGTH and _NAME.fullmatch(text) is not None


def checked_fields(fields: Sequence[FieldRequest]) -> tuple[JobTypeField, ...]:
    """The fields in their declared order; every problem (names, types, defaults) named in one 400."""
    if len(fields) > MAX_FIELDS:
        raise InvalidRequestError(f"A job type may have at most {MAX_FIELDS} fields; got {len(fields)}.")
    problems: list[str] = []
    checked: list[JobTypeField] = []
    seen: set[str] = set()
    for index, field in enumerate(fields):
        where = f"JobTypeFields[{index}]"
        if field.name.strip() and field.name.lower() in seen:
            problems.append(f"{where}.Name {_quoted(field.name)} is declared twice (names ignore case)")
        seen.add(field.name.lower())
        result = _checked_field(field, where=where)
        if isinstance(result, JobTypeField):
            checked.append(result)
        else:
            problems.extend(result)
    if problems:
        raise InvalidRequestError("The job type's fields are not valid: " + "; ".join(problems) + ".")
    return tuple(checked)


def _checked_field(field: FieldRequest, *, where: str) -> JobTypeField | list[str]:
    """The field with its type resolved and its default canonical, or what is wrong with it."""
    problems = []
    name_problem = _field_name_problem(field.name)
    if name_problem:
        problems.append(f"{where}.Name {name_problem}")
    field_type = parse_field_type(field.type)
    if field_type is None:
        problems.append(f"{where}.Type {_quoted(field.type)} is not a field type; expected {_EXPECTED_TYPES}")
        return problems
    default = None if field.default_value is None else canonical_value(field_type, field.default_value)
    if field.default_value is not None and default is None:
        problems.append(f"{where}.DefaultValue {_quoted(field.default_value)} is not {_type_phrase(field_type)}")
    return problems or JobTypeField(field.name, field_type, default, field.required)


def parse_field_type(raw: int | str) -> FieldType | None:
    """A field type from its integer (or a string of one) or its name, any case; None for anything else."""
    number = lenient_int(raw)
    if number is None:
        return _FIELD_TYPE_NAMES.get(raw.strip().lower()) if isinstance(raw, str) else None
    return FieldType(number) if number in FieldType._value2member_map_ else None


def canonical_value(field_type: FieldType, raw: Scalar) -> str | None:
    """The value as stored and handed to orchestrators, or None when it is not of the type. JSON numbers and
    booleans are read as their text (Keyfactor's own sample sends `1` and `true`)."""
    if isinstance(raw, str) and (len(raw) > MAX_VALUE_LENGTH or "\x00" in raw):
        return None
    if field_type is FieldType.STRING:
        return _text(raw)
    if field_type is FieldType.INT:
        return _int_text(raw)
    if field_type is FieldType.BOOL:
        return _bool_text(raw)
    return _datetime_text(raw)


def checked_job_fields(
    fields: Sequence[JobTypeField], given: Mapping[str, Scalar | None], *, job_type: str
) -> tuple[tuple[str, str], ...]:
    """(field name, canonical value) of a job in the type's declared order: given values checked, defaults filled in,
    fields without a value left out. A 400 names every unknown field, wrong value and missing required field."""
    values, problems = _given_values(fields, given, job_type=job_type)
    for field in fields:
        if field.name not in values and field.default_value is not None:
            values[field.name] = field.default_value
        if field.required and not values.get(field.name, "").strip():
            problems.append(f"{_quoted(field.name)} is required")
    if problems:
        names = ", ".join(_quoted(field.name) for field in fields) or "none"
        raise InvalidRequestError(
            f"JobFields are not valid for {job_type}: " + "; ".join(problems) + f". Its fields: {names}."
        )
    return tuple((field.name, values[field.name]) for field in fields if field.name in values)


def _given_values(
    fields: Sequence[JobTypeField], given: Mapping[str, Scalar | None], *, job_type: str
) -> tuple[dict[str, str], list[str]]:
    """The canonical value of each field the job gives a value (names matched in any case), and the problems."""
    by_name = {field.name.lower(): field for field in fields}
    values: dict[str, str] = {}
    problems: list[str] = []
    for key, raw in given.items():
        field = by_name.get(key.lower())
        if field is None:
            problems.append(f"{_quoted(key)} is not a field of {job_type}")
        elif field.name in values:
            problems.append(f"{_quoted(field.name)} is given twice")
        elif raw is not None:
            value = canonical_value(field.type, raw)
            if value is None:
                problems.append(f"{_quoted(field.name)} must be {_type_phrase(field.type)}, not {_quoted(raw)}")
            else:
                values[field.name] = value
    return values, problems


def _quoted(value: object) -> str:
    """A value as JSON writes it, which tells text from numbers in a message."""
    return json.dumps(value, ensure_ascii=False)


def _field_name_problem(name: str) -> str | None:
    if not name.strip():
        return "is required"
    if len(name) > MAX_FIELD_NAME_LENGTH:
        return f"may be at most {MAX_FIELD_NAME_LENGTH} characters long"
    if _CONTROL.search(name):
        return f"{_quoted(name)} contains a control character"
    return None


def _type_phrase(field_type: FieldType) -> str:
    return {
        FieldType.STRING: f"text of at most {MAX_VALUE_LENGTH} characters, without NUL",
        FieldType.INT: f"a whole number from {INT_MIN} to {INT_MAX} (Int)",
        FieldType.DATETIME: "an ISO 8601 date and time such as 2026-01-31T08:30:00Z (DateTime)",
        FieldType.BOOL: "true or false (Bool)",
    }[field_type]


def _text(raw: Scalar) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return raw if isinstance(raw, str) else json.dumps(raw)


def _int_text(raw: Scalar) -> str | None:
    number = lenient_int(raw)
    return str(number) if number is not None and INT_MIN <= number <= INT_MAX else None


def _bool_text(raw: Scalar) -> str | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower()
    return None


def _datetime_text(raw: Scalar) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that takes year 1 or 9999 out of range
        return None
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"
