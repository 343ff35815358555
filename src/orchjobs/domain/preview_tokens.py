"""Preview tokens: what a bulk request's preview saw, signed, so that the request can later change exactly that.

A token names the action and the request it previewed (a digest of its selection), the moment the preview resolved
the query against (`%TODAY%` and relative times mean the same at commit), a bound that keeps rows created later out
(the highest history id then, or for scheduled jobs the moment itself), and the fingerprint of the rows that would
change: how many, and a checksum of their keys computed in the database. No id list is kept anywhere: the commit
computes the fingerprint again, under lock, and refuses when it differs.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orchjobs.domain import signed_text
from orchjobs.errors import PreviewTokenError

# Longer than any token this module writes; a longer one is refused before it is decoded.
MAX_TOKEN_LENGTH = 1024
DEFAULT_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True)
class PreviewToken:
    action: str
    digest: str
    at: datetime
    bound: int | None
    count: int
    checksum: int
    expires_at: datetime


def selection_digest(action: str, *, ids: Sequence[object] | None, query: str | None) -> str:
    """What a token binds to: the action and its selection, ids in any order and repetition or the normalized
    query (so `result -eq 4` and `Result -eq 4` are the same request)."""
    selection: object = sorted({str(value) for value in ids}) if ids is not None else ["query", query]
    text = json.dumps([action, selection], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def sign(token: PreviewToken, key: bytes) -> str:
    payload = [
        token.action,
        token.digest,
        token.at.astimezone(UTC).isoformat(),
        token.bound,
        token.count,
        token.checksum,
        int(token.expires_at.timestamp()),
    ]
    return signed_text.sign(payload, key)


def verify(text: str, key: bytes, *, action: str, digest: str, now: datetime) -> PreviewToken:
    """The token `text` is, if this service signed it for this very request and it has not expired;
    PreviewTokenError says which of those failed."""
    if not signed_text.well_formed(text, max_length=MAX_TOKEN_LENGTH):
        raise PreviewTokenError("it is not a preview token; take it from the Preview answer as it is")
    if not signed_text.genuine(text, key):
        raise PreviewTokenError("it was not issued by this service, or it was altered")
    token = _read(text)
    if token.action != action:
        raise PreviewTokenError(f"it was issued for {token.action}, not {action}")
    if token.digest != digest:
        raise PreviewTokenError("it was issued for another selection; preview this request to get its own token")
    if now >= token.expires_at:
        raise PreviewTokenError(f"it expired at {token.expires_at.isoformat()}; preview again")
    return token


def _read(text: str) -> PreviewToken:
    try:
        action, digest, at, bound, count, checksum, expires = signed_text.payload(text)
        return PreviewToken(
            action=str(action),
            digest=str(digest),
            at=datetime.fromisoformat(at),
            bound=None if bound is None else int(bound),
            count=int(count),
            checksum=int(checksum),
            expires_at=datetime.fromtimestamp(int(expires), UTC),
        )
    except (ValueError, TypeError, OverflowError):
        # Signed by us yet unreadable: a token of another version of this module.
        raise PreviewTokenError("it is of a form this service no longer reads; preview again") from None
