"""Application settings (Command's AppSetting): read them, change one with its value checked, and read the ones
the service acts on as one typed value."""

from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from orchjobs.domain.app_settings import ServiceSettings, checked_value
from orchjobs.errors import NotFoundError
from orchjobs.store import app_settings as store
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record


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


def set_app_setting(engine: Engine, *, key: str, value: object) -> Record:
    with write_transaction(engine) as conn:
        row = _find(conn, key)
        text = checked_value(short_name=row.short_name, value_type=row.value_type, value=value)
        store.set_app_setting(conn, setting_id=row.id, value=text)
        return _find(conn, str(row.id))


def _find(conn: Connection, key: str) -> Record:
    text = key.strip()
    row = (
        store.get_app_setting(conn, setting_id=int(text))
        if text.isascii() and text.isdigit()
        else store.get_app_setting(conn, short_name=text)
    )
    if row is None:
        raise NotFoundError(f"Application setting {key!r} was not found.")
    return row
