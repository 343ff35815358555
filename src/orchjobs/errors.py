"""The one exception tree of orchjobs. Each class carries a stable Command-style error code.

    OrchjobsError
    ├── InvalidRequestError                    400  0xA0110001
    │   ├── MissingRequestedWithError          400  0xA0110002
    │   ├── RequestTooLargeError               413  0xA0110003  (a body, refused before it is read whole)
    │   ├── QuerySyntaxError                   400  0xA0110040
    │   ├── InvalidSortFieldError              400  0xA011004A  (Command's own code)
    │   ├── BulkOperationError                 400  0xA0110050  (carries FailedOperations)
    │   └── PreviewTokenError                  400  0xA0110070  (forged, expired, or for another request)
    ├── PreviewChangedError                    409  0xA0110071  (the previewed rows changed before the commit)
    ├── StatementTimeoutError                  400  0xA0110042  (a statement ran past its time budget)
    ├── AuthenticationError                    401  0xA0110011
    ├── PermissionDeniedError                  403  0xA0110012
    ├── LoginThrottledError                    429  0xA0110015  (too many failed logins; carries Retry-After)
    ├── NotFoundError                          404  0xA0110014
    ├── StoreUnavailableError                  503  0xA0110060
    ├── PasswordCheckBusyError                 503  0xA0110064  (the password-hashing queue is full; Retry-After)
    ├── IdentityProviderUnavailableError       503  0xA0110061  (a bearer token's keys could not be fetched)
    └── ProtocolRefusalError                        0xA0100000  (the orchestrator protocol refuses a call)
        ├── SessionRefusedError                     0xA0100001
        ├── OrchestratorDisapprovedError            0xA0100002
        ├── IdentityTakenError                      0xA0100003
        ├── RunNotInFlightError                     0xA0100004
        ├── UploadRefusedError                      0xA0100005
        ├── CertificateRenewalRequestedError        0xA0100007
        └── CertificateRenewalRequiredError         0xA0100008

Domain and service code raise these; only `orchjobs.api.errors` knows HTTP and how each surface answers
(the orchestrator protocol answers its refusals in the envelope `Result.Error.CodeString`, the code without `0x`).
"""

from dataclasses import dataclass


class OrchjobsError(Exception):
    """Base of every error orchjobs reports to a caller."""

    code = "0xA0110000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(OrchjobsError):
    """The request is malformed or asks for something that is not allowed; nothing was changed.

    `body_unreadable` marks a body that is not JSON of the shape the route reads. The orchestrator protocol answers
    that with HTTP 400 (the call was not understood) and every other refusal with 200.
    """

    code = "0xA0110001"
    body_unreadable = False

    def __init__(self, message: str, *, body_unreadable: bool = False) -> None:
        super().__init__(message)
        self.body_unreadable = body_unreadable


class MissingRequestedWithError(InvalidRequestError):
    """An admin API call without Command's x-keyfactor-requested-with header."""

    code = "0xA0110002"

    def __init__(self) -> None:
        super().__init__(
            "The x-keyfactor-requested-with header is required, with the value APIClient or XMLHttpRequest."
        )


class RequestTooLargeError(InvalidRequestError):
    """The request body is larger than its route accepts; it was not read past the limit."""

    code = "0xA0110003"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than the {limit} bytes this route accepts.", body_unreadable=True)
        self.limit = limit


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


class PreviewTokenError(InvalidRequestError):
    """A bulk request's PreviewToken cannot be used: not ours, altered, expired or issued for another request."""

    code = "0xA0110070"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The preview token cannot be used: {reason}. Nothing was changed.")
        self.reason = reason


class PreviewChangedError(OrchjobsError):
    """The rows a previewed bulk request would change are not the ones its preview counted any more (someone
    changed some meanwhile); nothing was changed."""

    code = "0xA0110071"

    def __init__(self, *, previewed: int, now: int) -> None:
        super().__init__(
            f"The rows this request would change are not the ones previewed ({previewed} then, {now} now, or the "
            "same number of other rows); nothing was changed. Preview again."
        )
        self.previewed = previewed
        self.now = now


class StatementTimeoutError(OrchjobsError):
    """The database stopped a statement that ran past its time budget (settings read_statement_seconds,
    write_statement_seconds); the transaction was rolled back, so nothing changed. Not an InvalidRequestError: the
    request was well formed, only too costly; the orchestrator protocol answers it 400 too, which its agent retries."""

    code = "0xA0110042"

    def __init__(self, budget: str, seconds: float | None) -> None:
        if seconds is None:
            message = "The statement was cancelled; try again."
        elif budget == "write":
            message = f"The change took longer than {seconds:g} s, the limit for a write; change fewer items at once."
        elif budget == "export":
            message = f"A batch of the export took longer than {seconds:g} s, the limit for an export; narrow it."
        else:
            message = f"The query took longer than {seconds:g} s, the limit for a read; narrow it."
        super().__init__(message)
        self.budget = budget
        self.seconds = seconds


class AuthenticationError(OrchjobsError):
    """No credentials, or credentials that do not match a user."""

    code = "0xA0110011"


class PermissionDeniedError(OrchjobsError):
    """The user is known but may not do this."""

    code = "0xA0110012"


class LoginThrottledError(OrchjobsError):
    """Too many failed logins from this address, or for this user name: the credentials were not checked.
    `retry_after_seconds` says when the next attempt will be."""

    code = "0xA0110015"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class NotFoundError(OrchjobsError):
    """The addressed resource does not exist."""

    code = "0xA0110014"


class StoreUnavailableError(OrchjobsError):
    """The database cannot be reached or stayed busy past the timeout. `rolled_back_on_conflict`: it rolled the
    transaction back because of a concurrent one (a deadlock), so trying again at once is likely to succeed."""

    code = "0xA0110060"
    rolled_back_on_conflict = False


class PasswordCheckBusyError(OrchjobsError):
    """Every password-hashing worker is busy and the queue before them is full: the credentials were not checked,
    so that a burst of logins waits in a bounded queue, not in everyone else's way."""

    code = "0xA0110064"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class IdentityProviderUnavailableError(OrchjobsError):
    """A bearer token's issuer is trusted, but its keys could not be fetched to check the token: the caller may try
    again later."""

    code = "0xA0110061"


class ProtocolRefusalError(OrchjobsError):
    """An orchestrator's call that is refused; nothing changed but the record of the refusal.

    `heartbeat_interval` is set when the refused call is a heartbeat, whose answer still says when to call again.
    """

    code = "0xA0100000"
    heartbeat_interval: int | None = None

    def __init__(self, message: str, *, heartbeat_interval: int | None = None) -> None:
        super().__init__(message)
        self.heartbeat_interval = heartbeat_interval


class SessionRefusedError(ProtocolRefusalError):
    """The SessionToken is unknown or expired, or its orchestrator is not Approved: it must register again."""

    code = "0xA0100001"

    def __init__(self) -> None:
        super().__init__("The session is unknown or has expired; register again.")


class OrchestratorDisapprovedError(ProtocolRefusalError):
    """The orchestrator is Disapproved: it can no longer open or keep a session."""

    code = "0xA0100002"


class IdentityTakenError(ProtocolRefusalError):
    """Another identity registers under a ClientMachine or AgentId that is taken."""

    code = "0xA0100003"


class RunNotInFlightError(ProtocolRefusalError):
    """A job call for an unknown job, someone else's, one with no run in flight, or the wrong AuditId."""

    code = "0xA0100004"


class UploadRefusedError(ProtocolRefusalError):
    """A malformed or oversized inventory, completion or CSR."""

    code = "0xA0100005"


class CertificateRenewalRequestedError(ProtocolRefusalError):
    """An administrator requested a new client certificate: the orchestrator sends a new CSR."""

    code = "0xA0100007"


class CertificateRenewalRequiredError(ProtocolRefusalError):
    """An administrator required a new client certificate: the orchestrator sends a new CSR."""

    code = "0xA0100008"
