"""Application settings (Command's AppSetting): read them, change one with its value type checked."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Row

from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.store import app_settings as store
from orchjobs.store.engine import read_transaction, write_transaction


def list_app_settings(engine: Engine) -> Sequence[Row[tuple[object, ...]]]:
    with read_transaction(engine) as conn:
        return store.list_app_settings(conn)


def get_app_setting(engine: Engine, *, key: str) -> Row[tuple[object, ...]]:
    """A setting by numeric id or by ShortName (case-insensitive)."""
    with read_transaction(engine) as conn:
        row = _find(conn, key)
    if row is None:
        raise NotFoundError(f"Application setting {key!r} was not found.")
    return row


def set_app_setting(engine: Engine, *, key: str, value: Any) -> Row[tuple[object, ...]]:
    with write_transaction(engine) as conn:
        row = _find(conn, key)
        if row is None:
            raise NotFoundError(f"Application setting {key!r} was not found.")
        text = _checked_value(row, value)
        store.set_app_setting(conn, setting_id=row.id, value=text)
        updated = store.get_app_setting_by_id(conn, setting_id=row.id)
    assert updated is not None
    return updated


def _find(conn: Any, key: str) -> Row[tuple[object, ...]] | None:
    if key.strip().isdigit():
        return store.get_app_setting_by_id(conn, setting_id=int(key))
    for row in store.list_app_settings(conn):
        if row.short_name.lower() == key.strip().lower():
            return row
    return None


def _checked_value(row: Row[tuple[object, ...]], value: Any) -> str:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if row.value_type == "Int":
        if not text.lstrip("-").isdigit() or int(text) < 0:
            raise InvalidRequestError(f"{row.short_name} must be a whole number of at least 0; got {value!r}.")
        return str(int(text))
    if not text:
        raise InvalidRequestError(f"{row.short_name} needs a value.")
    return text
