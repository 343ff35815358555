"""What store functions hand back, and how they split long id lists."""

from collections.abc import Sequence
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Row

# A result row of any shape; read by attribute (`row.client_machine`).
Record: TypeAlias = Row[*tuple[Any, ...]]

T = TypeVar("T")
# Ids per IN list: well under SQLite's bound-parameter limit, and few round trips.
ID_CHUNK = 500


def chunks(values: Sequence[T], size: int = ID_CHUNK) -> list[Sequence[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]
