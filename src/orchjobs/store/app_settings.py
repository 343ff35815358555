"""Application settings kept in the database (Command's AppSetting), editable at run time."""

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, func, select, update

from orchjobs.store.rows import Record
from orchjobs.store.tables import app_setting


def list_app_settings(conn: Connection, *, lock: bool = False) -> Sequence[Record]:
    """Every setting; `lock`ed until the transaction ends, for a change that records the values it replaces."""
    stmt = select(app_setting).order_by(app_setting.c.id)
    return conn.execute(stmt.with_for_update() if lock else stmt).all()


def get_app_setting(
    conn: Connection, *, setting_id: int | None = None, short_name: str | None = None, lock: bool = False
) -> Record | None:
    """A setting by id, or by short name compared without regard to case; `lock`ed as `list_app_settings`."""
    if setting_id is not None:
        stmt = select(app_setting).where(app_setting.c.id == setting_id)
    else:
        stmt = select(app_setting).where(func.lower(app_setting.c.short_name) == (short_name or "").lower())
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def get_values(conn: Connection, *, short_names: Iterable[str]) -> dict[str, str]:
    """`{short_name: value}` of the named settings that exist; one statement."""
    stmt = select(app_setting.c.short_name, app_setting.c.value).where(app_setting.c.short_name.in_(list(short_names)))
    return {row.short_name: row.value for row in conn.execute(stmt)}


def set_app_setting(conn: Connection, *, setting_id: int, value: str) -> None:
    conn.execute(update(app_setting).where(app_setting.c.id == setting_id).values(value=value))
