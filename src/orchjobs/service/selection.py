"""Which rows a bulk request addresses: explicit ids or a query, exactly one of them, the way Acknowledge, Reschedule
and Unschedule take them (`JobAuditIds` or `JobIds`, or `Query`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from orchjobs.errors import InvalidRequestError

Id = TypeVar("Id")


@dataclass(frozen=True)
class Selection(Generic[Id]):
    """`ids_name` is what the request calls its ids, for the messages of a refusal."""

    ids: Sequence[Id] | None = None
    query: str | None = None
    ids_name: str = "JobAuditIds"

    def validate(self, *, max_ids: int) -> None:
        has_ids = self.ids is not None
        has_query = self.query is not None
        if has_ids and has_query:
            raise InvalidRequestError(f"Provide either {self.ids_name} or Query, but not both.")
        if not has_ids and not has_query:
            raise InvalidRequestError(f"Either {self.ids_name} or Query is required.")
        if has_ids and not self.ids:
            raise InvalidRequestError(f"{self.ids_name} must contain at least one id.")
        if has_ids and len(self.ids or ()) > max_ids:
            raise InvalidRequestError(f"{self.ids_name} may hold at most {max_ids} ids; use a Query for more.")
        if has_query and not (self.query or "").strip():
            raise InvalidRequestError("Query must not be blank.")

    def distinct_ids(self) -> list[Id]:
        """The ids, each once, in the order given."""
        return list(dict.fromkeys(self.ids or ()))
