"""Application settings (Command's AppSetting): read them, change one or several with their values checked, and read
the ones the service acts on as one typed value. Every change writes an audit entry per setting it sets
(docs/audit.md), in the change's transaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from orchjobs.domain.app_settings import ServiceSettings, checked_value
from orchjobs.domain.audit import AuditAction, AuditEntry, AuditResource
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.service import audit
from orchjobs.store import app_settings as store
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record

# More entries than there are settings is a mistake; this bounds the work of a refused body too.
MAX_BULK_SETTINGS = 100
# The value of an entry that has none.
MISSING = object()


@dataclass(frozen=True)
class SettingEntry:
    """One entry of a bulk change as sent: `setting_id` and `value` as they came (`MISSING` when absent), checked
    by `set_app_settings`."""

    setting_id: object
    value: object


def read_service_settings(conn: Connection) -> ServiceSettings:
    """The settings dispatch, job calls, the sweeper and the failure count act on; one statement."""
    return ServiceSettings.from_values(store.get_values(conn, short_names=ServiceSettings.short_names()))


def list_app_settings(engine: Engine) -> Sequence[Record]:
    with read_transaction(engine) as conn:
        return store.list_app_settings(conn)


def get_app_setting(engine: Engine, *, key: str) -> Record:
    """A setting by numeric id or by ShortName (case-insensitive)."""
    with read_transaction(engine) as conn:
        return _find(conn, key)


def set_app_setting(engine: Engine, *, key: str, value: object, actor: str, now: datetime) -> Record:
    with write_transaction(engine) as conn:
        row = _find(conn, key, lock=True)
        text = checked_value(short_name=row.short_name, value_type=row.value_type, value=value)
        _change(conn, row, text, actor=actor, now=now)
        return _find(conn, str(row.id))


def set_app_settings(engine: Engine, entries: Sequence[SettingEntry], *, actor: str, now: datetime) -> list[Record]:
    """Command's bulk PUT /AppSetting: every entry checked first (unknown or repeated Id, missing Value, a value of
    the wrong type or out of range), a FailedOperation per bad entry and nothing changed; else all in one
    transaction. The settings as they are after, in the order of the request."""
    if not entries:
        raise InvalidRequestError("The request body must name at least one setting.")
    if len(entries) > MAX_BULK_SETTINGS:
        raise InvalidRequestError(f"The request body may name at most {MAX_BULK_SETTINGS} settings.")
    with write_transaction(engine) as conn:
        rows = {row.id: row for row in store.list_app_settings(conn, lock=True)}
        failed: list[FailedOperation] = []
        changes: list[tuple[Record, str]] = []
        seen: set[int] = set()
        for position, entry in enumerate(entries, start=1):
            label = f"entry {position}"
            setting_id = None if isinstance(entry.setting_id, bool) else lenient_int(entry.setting_id)
            if setting_id is None:
                failed.append(FailedOperation(label, f"The {label} needs an integer Id; got {entry.setting_id!r}."))
                continue
            row = rows.get(setting_id)
            if row is None:
                failed.append(FailedOperation(setting_id, f"Application setting {setting_id} was not found."))
            elif setting_id in seen:
                failed.append(FailedOperation(setting_id, f"Application setting {setting_id} is named twice."))
            elif entry.value is MISSING:
                failed.append(FailedOperation(setting_id, f"The Value of {row.short_name} is required."))
            else:
                try:
                    text = checked_value(short_name=row.short_name, value_type=row.value_type, value=entry.value)
                except InvalidRequestError as exc:
                    failed.append(FailedOperation(setting_id, exc.message))
                else:
                    changes.append((row, text))
            seen.add(setting_id)
        if failed:
            raise BulkOperationError(
                f"{len(failed)} of the {len(entries)} settings cannot be set; none was changed.", failed
            )
        for row, text in changes:
            _change(conn, row, text, actor=actor, now=now)
        changed = {row.id: row for row in store.list_app_settings(conn)}
        return [changed[row.id] for row, _text in changes]


def _change(conn: Connection, row: Record, text: str, *, actor: str, now: datetime) -> None:
    """Store the value, and an audit entry with the old and the new value (RowCount 0 when they are the same: the
    operator's act is recorded all the same)."""
    changed = text != row.value
    if changed:
        store.set_app_setting(conn, setting_id=row.id, value=text)
    audit.record(
        conn,
        AuditEntry(
            actor=actor,
            action=AuditAction.SET_SETTING,
            resource=AuditResource.APP_SETTING,
            row_count=int(changed),
            ids=[row.id],
            details={"ShortName": row.short_name, "OldValue": row.value, "NewValue": text},
        ),
        at=now,
    )


def _find(conn: Connection, key: str, *, lock: bool = False) -> Record:
    text = key.strip()
    row = (
        store.get_app_setting(conn, setting_id=int(text), lock=lock)
        if text.isascii() and text.isdigit()
        else store.get_app_setting(conn, short_name=text, lock=lock)
    )
    if row is None:
        raise NotFoundError(f"Application setting {key!r} was not found.")
    return row
