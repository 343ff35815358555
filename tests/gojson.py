"""What Go's encoding/json does with a JSON document: whether it decodes into a struct a Go client declares, and what
the client then sends when it encodes a struct (kfutil builds request bodies by decoding JSON into a struct of
Keyfactor's Go client and encoding that struct again).

A Go type is written as Go writes it: "string", "int", "int64", "float64", "bool", "interface{}", "[]T", "*T",
"map[string]T", or the name of a `Struct` (or the Struct itself, for an anonymous one). A Struct is transcribed as a
dict {json tag: Go type} in the Go declaration's order; the key is the tag as written ("Capability,omitempty"), or
the field's name when it has no tag. Fields tagged "-" are left out (encoding/json ignores them).

Decoding follows encoding/json.Unmarshal: JSON null leaves any field at its zero value; unknown keys are ignored;
keys match a field's name exactly or else case-insensitively; a JSON number into a `string`, a string into an `int`,
an object into a `string` and so on fail. Go reports the first such error after decoding the rest; `type_errors`
lists them all. Decoded values are Python values: str, int, bool, float, None for nil, lists, dicts (a struct is a
dict by JSON name, every field present).

Encoding follows encoding/json.Marshal: fields in declaration order, `omitempty` leaves out false, 0, "", nil and
empty slices and maps (never structs), map keys sorted, <, > and & escaped.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

_STRUCTS: dict[str, "Struct"] = {}
_INT64 = (-(2**63), 2**63 - 1)
_INT_TYPES = {"int", "int64", "int32"}
_PRIMITIVE_ZERO: dict[str, Any] = {"string": "", "bool": False, "float64": 0.0, "int": 0, "int64": 0, "int32": 0}


@dataclass(frozen=True)
class Field:
    name: str  # the JSON name
    type: Any  # str | Struct
    omitempty: bool


@dataclass
class Struct:
    """A Go struct: `Struct("CertStoreContainer", {"Id,omitempty": "*int", "Name": "string", ...})`."""

    name: str
    tags: dict[str, Any]
    fields: list[Field] = field(init=False)

    def __post_init__(self) -> None:
        self.fields = []
        for tag, go_type in self.tags.items():
            name, _, options = tag.partition(",")
            self.fields.append(Field(name, go_type, "omitempty" in options.split(",")))
        if self.name:
            _STRUCTS[self.name] = self

    def field_for(self, key: str) -> Field | None:
        """The field a JSON key sets: its exact name first, else the first whose name matches in any case."""
        for item in self.fields:
            if item.name == key:
                return item
        folded = key.casefold()
        return next((item for item in self.fields if item.name.casefold() == folded), None)


class GoDecodeError(Exception):
    """encoding/json refused the document: what a Go client reports as its error."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _resolve(go_type: Any) -> Any:
    if isinstance(go_type, Struct):
        return go_type
    if go_type in _STRUCTS:
        return _STRUCTS[go_type]
    return go_type


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def zero(go_type: Any) -> Any:
    go_type = _resolve(go_type)
    if isinstance(go_type, Struct):
        return {item.name: zero(item.type) for item in go_type.fields}
    return _PRIMITIVE_ZERO.get(go_type)  # None for pointers, slices, maps and interfaces


def _type_name(go_type: Any) -> str:
    return (go_type.name or "struct{…}") if isinstance(go_type, Struct) else str(go_type)


def _decode(value: Any, go_type: Any, path: str, errors: list[str]) -> Any:
    go_type = _resolve(go_type)
    if value is None:
        return zero(go_type)

    def refuse() -> Any:
        errors.append(
            f"json: cannot unmarshal {_json_kind(value)} into Go value of type {_type_name(go_type)} at {path}"
        )
        return zero(go_type)

    if isinstance(go_type, Struct):
        if not isinstance(value, dict):
            return refuse()
        decoded = zero(go_type)
        for key, item in value.items():
            target = go_type.field_for(key)
            if target is not None:
                decoded[target.name] = _decode(item, target.type, f"{path}.{target.name}", errors)
        return decoded
    if go_type == "interface{}":
        return value
    if go_type.startswith("*"):
        return _decode(value, go_type[1:], path, errors)
    if go_type.startswith("[]"):
        if not isinstance(value, list):
            return refuse()
        return [_decode(item, go_type[2:], f"{path}[{index}]", errors) for index, item in enumerate(value)]
    if go_type.startswith("map[string]"):
        if not isinstance(value, dict):
            return refuse()
        return {
            key: _decode(item, go_type[len("map[string]") :], f"{path}[{key}]", errors) for key, item in value.items()
        }
    if go_type == "string":
        return value if isinstance(value, str) else refuse()
    if go_type == "bool":
        return value if isinstance(value, bool) else refuse()
    if go_type in _INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int) or not _INT64[0] <= value <= _INT64[1]:
            return refuse()
        return value
    if go_type == "float64":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else refuse()
    raise ValueError(f"gojson does not know the Go type {go_type!r}")


def type_errors(document: Any, go_type: Any, *, where: str = "") -> list[str]:
    """Every error encoding/json meets decoding `document` (parsed JSON) into `go_type`; [] when it decodes."""
    errors: list[str] = []
    _decode(document, go_type, where or _type_name(_resolve(go_type)), errors)
    return errors


def decode(document: Any, go_type: Any, *, where: str = "") -> Any:
    """`document` decoded into `go_type` as encoding/json would; GoDecodeError when Go would fail."""
    errors: list[str] = []
    decoded = _decode(document, go_type, where or _type_name(_resolve(go_type)), errors)
    if errors:
        raise GoDecodeError(errors)
    return decoded


def _empty(value: Any, go_type: Any) -> bool:
    """What omitempty leaves out: false, 0, "", nil, and empty slices and maps; a pointer or an interface only when
    nil (a pointer to false is sent)."""
    if isinstance(go_type, str) and (go_type.startswith("*") or go_type == "interface{}"):
        return value is None
    return value is None or value is False or value == 0 or value == "" or value == [] or value == {}


def _plain(value: Any) -> Any:
    """An interface{} value as Go would encode it: maps with sorted keys, integral floats without a fraction."""
    if isinstance(value, dict):
        return {key: _plain(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _encode(value: Any, go_type: Any) -> Any:
    go_type = _resolve(go_type)
    if isinstance(go_type, Struct):
        encoded: dict[str, Any] = {}
        for item in go_type.fields:
            member = value.get(item.name, zero(item.type))
            is_struct = isinstance(_resolve(item.type), Struct)
            if item.omitempty and not is_struct and _empty(member, item.type):
                continue
            encoded[item.name] = _encode(member, item.type)
        return encoded
    if value is None:
        return None
    if go_type == "interface{}":
        return _plain(value)
    if go_type.startswith("*"):
        return _encode(value, go_type[1:])
    if go_type.startswith("[]"):
        return [_encode(item, go_type[2:]) for item in value]
    if go_type.startswith("map[string]"):
        return {key: _encode(value[key], go_type[len("map[string]") :]) for key in sorted(value)}
    return _plain(value)


def marshal(value: Any, go_type: Any = "interface{}") -> str:
    """json.Marshal of a Go value of `go_type` (a decoded value, or plain JSON data for interface{} and maps)."""
    text = json.dumps(_encode(value, go_type), separators=(",", ":"), ensure_ascii=False)
    return re.sub(r"[<>&\u2028\u2029]", lambda match: f"\\u{ord(match.group()):04x}", text)
