"""Application settings kept in the database (Command's AppSetting), editable at run time."""

from collections.abc import Sequence

from sqlalchemy import Connection, Row, select, update

from orchjobs.store.tables import app_setting


def list_app_settings(conn: Connection) -> Sequence[Row[tuple[object, ...]]]:
    return conn.execute(select(app_setting).order_by(app_setting.c.id)).all()


def get_app_setting(conn: Connection, *, short_name: str) -> Row[tuple[object, ...]] | None:
    return conn.execute(select(app_setting).where(app_setting.c.short_name == short_name)).first()


def get_app_setting_by_id(conn: Connection, *, setting_id: int) -> Row[tuple[object, ...]] | None:
    return conn.execute(select(app_setting).where(app_setting.c.id == setting_id)).first()


def set_app_setting(conn: Connection, *, setting_id: int, value: str) -> None:
    conn.execute(update(app_setting).where(app_setting.c.id == setting_id).values(value=value))
