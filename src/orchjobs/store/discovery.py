"""Certificate stores found by a discovery run. Functions take a connection and never commit."""

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, select

from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record
from orchjobs.store.tables import certificate_store, certificate_store_type


def get_store_type(conn: Connection, *, store_type_id: int) -> Record | None:
    """The store type's short name and property definitions (JSON), or None when there is no such type."""
    stmt = select(certificate_store_type.c.short_name, certificate_store_type.c.properties).where(
        certificate_store_type.c.id == store_type_id
    )
    return conn.execute(stmt).first()


def insert_discovered_stores(
    conn: Connection,
    *,
    agent_id: uuid.UUID,
    store_type_id: int,
    client_machine: str,
    paths: Sequence[str],
    properties: str,
) -> None:
    """One unapproved store per path, in one statement; a path that is already a store of the orchestrator and type
    is left as it is (`uq_certificate_store_agent_type_path`)."""
    if not paths:
        return
    stmt = conflict_insert(conn, certificate_store).on_conflict_do_nothing(
        index_elements=[certificate_store.c.agent_id, certificate_store.c.store_type_id, certificate_store.c.store_path]
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "agent_id": agent_id,
            "store_type_id": store_type_id,
            "client_machine": client_machine,
            "store_path": path,
            "properties": properties,
            "approved": False,
            "create_if_missing": False,
        }
        for path in paths
    ]
    conn.execute(stmt, rows)
