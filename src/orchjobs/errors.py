"""The one exception tree of orchjobs. Each class carries a stable Command-style error code.

    OrchjobsError
    ├── InvalidRequestError            400  0xA0110001
    │   ├── QuerySyntaxError           400  0xA0110040
    │   ├── InvalidSortFieldError      400  0xA011004A  (Command's own code)
    │   └── BulkOperationError         400  0xA0110050  (carries FailedOperations)
    ├── AuthenticationError            401  0xA0110011
    ├── PermissionDeniedError          403  0xA0110012
    ├── NotFoundError                  404  0xA0110014
    └── StoreUnavailableError          503  0xA0110060

Domain and service code raise these; only `orchjobs.api.errors` knows HTTP.
"""

from dataclasses import dataclass


class OrchjobsError(Exception):
    """Base of every error orchjobs reports to a caller."""

    code = "0xA0110000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(OrchjobsError):
    """The request is malformed or asks for something that is not allowed; nothing was changed."""

    code = "0xA0110001"


class QuerySyntaxError(InvalidRequestError):
    """A query string does not parse or names an unknown field, operator or value."""

    code = "0xA0110040"

    def __init__(self, message: str, *, position: int, expected: str | None = None) -> None:
        where = f" at position {position}" if position >= 0 else ""
        wanted = f"; expected {expected}" if expected else ""
        super().__init__(f"Invalid query{where}: {message}{wanted}.")
        self.position = position
        self.expected = expected
        self.reason = message


class InvalidSortFieldError(InvalidRequestError):
    """The sort field is not one of the resource's queryable fields."""

    code = "0xA011004A"

    def __init__(self, field: str) -> None:
        super().__init__(f"Invalid sort field: {field}.")


@dataclass(frozen=True)
class FailedOperation:
    """One item of a bulk request that could not be carried out, and why."""

    id: int | str
    reason: str


class BulkOperationError(InvalidRequestError):
    """Some items of a bulk request are not eligible, so none were changed."""

    code = "0xA0110050"

    def __init__(self, message: str, failed: list[FailedOperation]) -> None:
        super().__init__(message)
        self.failed = failed


class AuthenticationError(OrchjobsError):
    """No credentials, or credentials that do not match a user."""

    code = "0xA0110011"


class PermissionDeniedError(OrchjobsError):
    """The user is known but may not do this."""

    code = "0xA0110012"


class NotFoundError(OrchjobsError):
    """The addressed resource does not exist."""

    code = "0xA0110014"


class StoreUnavailableError(OrchjobsError):
    """The database cannot be reached or stayed busy past the timeout."""

    code = "0xA0110060"
