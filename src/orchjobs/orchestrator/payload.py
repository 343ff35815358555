"""Reading protocol JSON the way the C agent does: object keys are matched case-insensitively.

Our server answers in PascalCase, but the C agent's parser accepts any case, so this orchestrator does too.
"""

from typing import Any


def field(obj: Any, name: str, default: Any = None) -> Any:
    """The value of `name` in the JSON object `obj` (any key case), or `default` when absent or null."""
    if not isinstance(obj, dict):
        return default
    if name in obj and obj[name] is not None:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered and value is not None:
            return value
    return default


def text_field(obj: Any, name: str, default: str = "") -> str:
    """A string field; other JSON types count as absent (the C agent's strict typing)."""
    value = field(obj, name)
    return value if isinstance(value, str) else default


def int_field(obj: Any, name: str, default: int = 0) -> int:
    """An integer field; booleans and other types count as absent."""
    value = field(obj, name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def bool_field(obj: Any, name: str, default: bool = False) -> bool:
    value = field(obj, name)
    return value if isinstance(value, bool) else default


def list_field(obj: Any, name: str) -> list[Any]:
    value = field(obj, name)
    return value if isinstance(value, list) else []
