"""Preview a bulk change, then make exactly that change (docs/failure-count.md, "Preview").

A preview counts what a bulk request (Acknowledge, Unacknowledge, Reschedule, Unschedule) selects and what it would
change, shows the first ids, and hands out a signed token (domain.preview_tokens). The request sent again with that
token resolves its query against the preview's moment and bound, locks the rows it would change, and goes on only
if their fingerprint is the preview's; after the change, the number changed must be the number previewed. Either
check failing rolls the whole change back (PreviewChangedError). Nothing but counts and a checksum leaves the
database, whatever the size of the set.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Engine, FromClause, and_

from orchjobs.domain import preview_tokens
from orchjobs.domain.preview_tokens import PreviewToken
from orchjobs.errors import PreviewChangedError
from orchjobs.query import parse, to_text
from orchjobs.service.selection import Selection
from orchjobs.service.signing import signing_key
from orchjobs.store import fingerprints
from orchjobs.store.dialects import custom_plans
from orchjobs.store.engine import read_transaction
from orchjobs.store.listing import ListResource

# How many ids of the rows that would change a preview shows.
PREVIEW_IDS = 50
_KEY_PURPOSE = "preview-token"


@dataclass(frozen=True)
class ChangeSet:
    """The rows a bulk request would change (`eligible`, over `source`, keyed by `key`), and the rows it selects at
    all (`selected`, over `selected_source`), both as SQL."""

    source: FromClause
    key: Column[Any]
    eligible: ColumnElement[bool]
    selected_source: FromClause
    selected: ColumnElement[bool]


@dataclass(frozen=True)
class Moment:
    """What a request's query is resolved against: the preview's time and bound when it carries a token, else now
    and no bound."""

    at: datetime
    bound: int | None = None
    token: PreviewToken | None = None
    # Whether this is a preview or the commit of one: then rows created after `at` are left out.
    fixed: bool = False


@dataclass(frozen=True)
class Preview:
    selected: int
    eligible: int
    ids: Sequence[Any]
    query: str | None
    token: str
    expires_at: datetime


def digest(action: str, selection: Selection[Any], resource: ListResource, *, max_query_length: int) -> str:
    return preview_tokens.selection_digest(
        action,
        ids=None if selection.ids is None else list(selection.ids),
        query=normalized_query(resource, selection.query, max_length=max_query_length),
    )


def normalized_query(resource: ListResource, query: str | None, *, max_length: int) -> str | None:
    """The canonical text of a query (fields under their canonical names); None for a selection by ids."""
    if query is None:
        return None
    return to_text(parse(query, max_length=max_length), resource.fields)


def moment(engine: Engine, *, action: str, digest: str, token: str | None, now: datetime) -> Moment:
    """The moment a bulk request resolves against; PreviewTokenError for a token that does not fit it."""
    if token is None:
        return Moment(at=now)
    opened = preview_tokens.verify(
        token, signing_key(engine, purpose=_KEY_PURPOSE, now=now), action=action, digest=digest, now=now
    )
    return Moment(at=opened.at, bound=opened.bound, token=opened, fixed=True)


def preview(
    engine: Engine,
    *,
    action: str,
    selection: Selection[Any],
    resource: ListResource,
    now: datetime,
    max_ids: int,
    max_query_length: int,
    bound: Callable[[Connection], int | None],
    changes: Callable[[Moment], ChangeSet],
) -> Preview:
    """Count and fingerprint what the request (`selection`, a query over `resource` or ids) would change, in one
    read transaction, and sign it."""
    selection.validate(max_ids=max_ids)
    query = normalized_query(resource, selection.query, max_length=max_query_length)
    with read_transaction(engine) as conn:
        custom_plans(conn)
        at = Moment(at=now, bound=bound(conn), fixed=True)
        change_set = changes(at)
        selected = fingerprints.count_rows(conn, source=change_set.selected_source, where=change_set.selected)
        found = fingerprints.fingerprint(conn, source=change_set.source, key=change_set.key, where=change_set.eligible)
        ids = fingerprints.first_keys(
            conn, source=change_set.source, key=change_set.key, where=change_set.eligible, limit=PREVIEW_IDS
        )
    token = PreviewToken(
        action=action,
        digest=digest(action, selection, resource, max_query_length=max_query_length),
        at=now,
        bound=at.bound,
        count=found.count,
        checksum=found.checksum,
        expires_at=now + preview_tokens.DEFAULT_LIFETIME,
    )
    signed = preview_tokens.sign(token, signing_key(engine, purpose=_KEY_PURPOSE, now=now))
    return Preview(selected, found.count, ids, query, signed, token.expires_at)


def hold_unchanged(conn: Connection, change_set: ChangeSet, at: Moment) -> None:
    """Lock the rows the request would change and refuse unless they are the previewed ones (no-op without a
    token)."""
    if at.token is None:
        return
    custom_plans(conn)
    found = fingerprints.fingerprint(
        conn, source=change_set.source, key=change_set.key, where=change_set.eligible, lock=True
    )
    if (found.count, found.checksum) != (at.token.count, at.token.checksum):
        raise PreviewChangedError(previewed=at.token.count, now=found.count)


def check_changed(count: int, at: Moment) -> None:
    """After the change: rows that became eligible between the check and the change make the count differ."""
    if at.token is not None and count != at.token.count:
        raise PreviewChangedError(previewed=at.token.count, now=count)


def bounded(where: ColumnElement[bool], key: Column[Any], bound: int | None) -> ColumnElement[bool]:
    """`where`, less the rows created after the preview (keys above its bound)."""
    return where if bound is None else and_(where, key <= bound)
