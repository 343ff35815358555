"""Certificate stores: store types (JKS and PEM built in), containers, certificates kept once by thumbprint, agent
pools (the Default Agent Pool built in); stores point at their type by id and gain Command's fields; inventory
entries point at certificates.

Inventory entries are a copy of what the last inventory found and are not carried over: the next inventory of each
store finds them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:30:00.000000
"""

import json
import uuid

import sqlalchemy as sa
from alembic import op

from orchjobs.domain.capabilities import capability_guid
from orchjobs.store.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OPERATIONS = ("Inventory", "Management", "Discovery", "Reenrollment")
# The built-in types as this revision made them (later revisions change them, never this text).
_PEM_PROPERTIES = [
    {"name": "separatePrivateKey", "display_name": "Separate Private Key", "type": 2, "required": False,
     "default_value": "false", "depends_on": "", "choices": []},
    {"name": "privateKeyPath", "display_name": "Private Key Path", "type": 0, "required": False,
     "default_value": None, "depends_on": "separatePrivateKey", "choices": []},
]  # fmt: skip
_BUILT_IN: tuple[tuple[int, str, str, list[dict[str, object]], int, bool, bool], ...] = (
    # id, name, short name, properties, custom alias allowed, password entry supported, store password required
    (1, "Java Keystore", "JKS", [], 2, True, True),
    (2, "PEM File", "PEM", _PEM_PROPERTIES, 0, False, False),
)


def _store_type_table() -> sa.TableClause:
    return sa.table(
        "certificate_store_type",
        *(
            sa.column(name, sa.Uuid() if name.endswith("_job_type") else None)
            for name in (
                "id", "name", "short_name", "capability", "built_in", "local_store", "supports_add", "supports_create",
                "supports_discovery", "supports_enrollment", "supports_remove", "properties", "entry_parameters",
                "job_properties", "password_entry_supported", "password_store_required", "password_style",
                "store_path_type", "store_path_value", "private_key_allowed", "custom_alias_allowed",
                "server_required", "power_shell", "blueprint_allowed", "import_type", "server_registration",
                "inventory_endpoint", "inventory_job_type", "management_job_type", "discovery_job_type",
                "enrollment_job_type",
            )
        ),
    )  # fmt: skip


def _type_row(
    type_id: int, name: str, short_name: str, properties: list[dict[str, object]], *, built_in: bool, **rest: object
) -> dict[str, object]:
    guids = [capability_guid(f"CertStores.{short_name}.{operation}") for operation in _OPERATIONS]
    row: dict[str, object] = {
        "id": type_id, "name": name, "short_name": short_name, "capability": short_name, "built_in": built_in,
        "local_store": built_in, "supports_add": built_in, "supports_create": False, "supports_discovery": built_in,
        "supports_enrollment": built_in, "supports_remove": built_in, "properties": json.dumps(properties),
        "entry_parameters": "[]", "job_properties": "[]", "password_entry_supported": False,
        "password_store_required": False, "password_style": 0, "store_path_type": "", "store_path_value": "",
        "private_key_allowed": 1, "custom_alias_allowed": 0, "server_required": False, "power_shell": False,
        "blueprint_allowed": False, "import_type": type_id, "server_registration": 0, "inventory_endpoint": "",
        "inventory_job_type": guids[0], "management_job_type": guids[1], "discovery_job_type": guids[2],
        "enrollment_job_type": guids[3],
    }  # fmt: skip
    row.update(rest)
    return row


def upgrade() -> None:
    op.create_table(
        "certificate_store_type",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("short_name", sa.String(length=64), nullable=False),
        sa.Column("capability", sa.String(length=255), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.Column("local_store", sa.Boolean(), nullable=False),
        sa.Column("supports_add", sa.Boolean(), nullable=False),
        sa.Column("supports_create", sa.Boolean(), nullable=False),
        sa.Column("supports_discovery", sa.Boolean(), nullable=False),
        sa.Column("supports_enrollment", sa.Boolean(), nullable=False),
        sa.Column("supports_remove", sa.Boolean(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("entry_parameters", sa.Text(), nullable=False),
        sa.Column("job_properties", sa.Text(), nullable=False),
        sa.Column("password_entry_supported", sa.Boolean(), nullable=False),
        sa.Column("password_store_required", sa.Boolean(), nullable=False),
        sa.Column("password_style", sa.SmallInteger(), nullable=False),
        sa.Column("store_path_type", sa.String(length=255), nullable=False),
        sa.Column("store_path_value", sa.Text(), nullable=False),
        sa.Column("private_key_allowed", sa.SmallInteger(), nullable=False),
        sa.Column("custom_alias_allowed", sa.SmallInteger(), nullable=False),
        sa.Column("server_required", sa.Boolean(), nullable=False),
        sa.Column("power_shell", sa.Boolean(), nullable=False),
        sa.Column("blueprint_allowed", sa.Boolean(), nullable=False),
        sa.Column("import_type", sa.Integer(), nullable=False),
        sa.Column("server_registration", sa.Integer(), nullable=False),
        sa.Column("inventory_endpoint", sa.String(length=255), nullable=False),
        sa.Column("inventory_job_type", sa.Uuid(), nullable=False),
        sa.Column("management_job_type", sa.Uuid(), nullable=False),
        sa.Column("discovery_job_type", sa.Uuid(), nullable=False),
        sa.Column("enrollment_job_type", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_store_type")),
        sa.UniqueConstraint("name", name=op.f("uq_certificate_store_type_name")),
        sa.UniqueConstraint("short_name", name=op.f("uq_certificate_store_type_short_name")),
    )
    types = _store_type_table()
    rows = [
        _type_row(
            type_id,
            name,
            short_name,
            properties,
            built_in=True,
            custom_alias_allowed=alias,
            password_entry_supported=entry_password,
            password_store_required=store_password,
        )
        for type_id, name, short_name, properties, alias, entry_password, store_password in _BUILT_IN
    ]
    op.bulk_insert(types, rows)
    # Stores of other types (the synthetic seed makes IIS, F5, …) get a plain type of that short name each.
    conn = op.get_bind()
    existing = conn.execute(sa.text("SELECT DISTINCT store_type FROM certificate_store ORDER BY store_type")).scalars()
    others = [name for name in existing if name.upper() not in ("JKS", "PEM")]
    if others:
        op.bulk_insert(
            types,
            [_type_row(100 + index, name, name, [], built_in=False) for index, name in enumerate(others)],
        )

    op.create_table(
        "certificate_store_container",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("store_type_id", sa.Integer(), nullable=False),
        sa.Column("overwrite_schedules", sa.Boolean(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_type_id"],
            ["certificate_store_type.id"],
            name=op.f("fk_certificate_store_container_store_type_id_certificate_store_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_store_container")),
        sa.UniqueConstraint("name", name=op.f("uq_certificate_store_container_name")),
    )
    op.create_table(
        "certificate_store_server",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("server_type", sa.Integer(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("use_ssl", sa.Boolean(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["server_type"],
            ["certificate_store_type.id"],
            name=op.f("fk_certificate_store_server_server_type_certificate_store_type"),
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["certificate_store_container.id"],
            name=op.f("fk_certificate_store_server_container_id_certificate_store_container"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_store_server")),
    )
    op.create_index(
        "uq_certificate_store_server_type_name", "certificate_store_server", ["server_type", "name"], unique=True
    )
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("thumbprint", sa.String(length=40), nullable=False),
        sa.Column("serial_number", sa.String(length=128), nullable=False),
        sa.Column("issued_dn", sa.Text(), nullable=False),
        sa.Column("issued_cn", sa.String(length=255), nullable=True),
        sa.Column("issuer_dn", sa.Text(), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("not_after", UtcDateTime(), nullable=False),
        sa.Column("signing_algorithm", sa.String(length=64), nullable=False),
        sa.Column("key_type", sa.SmallInteger(), nullable=False),
        sa.Column("key_size", sa.Integer(), nullable=False),
        sa.Column("import_date", UtcDateTime(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("thumbprint", name=op.f("uq_certificate_thumbprint")),
    )
    op.create_index(op.f("ix_certificate_not_after"), "certificate", ["not_after"])
    op.create_index(op.f("ix_certificate_issued_cn"), "certificate", ["issued_cn"])
    op.create_table(
        "agent_pool",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_pool")),
        sa.UniqueConstraint("name", name=op.f("uq_agent_pool_name")),
    )
    # Command's built-in pool; its orchestrators are the approved ones in no other pool (store/agent_pools.py).
    op.bulk_insert(
        sa.table("agent_pool", sa.column("id", sa.Uuid()), sa.column("name", sa.String())),
        [{"id": uuid.UUID(int=0), "name": "Default Agent Pool"}],
    )
    op.create_table(
        "agent_pool_agent",
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("enable_discover", sa.Boolean(), nullable=False),
        sa.Column("enable_monitor", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["agent_pool.id"], name=op.f("fk_agent_pool_agent_pool_id_agent_pool"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_pool_agent_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pool_id", "agent_id", name=op.f("pk_agent_pool_agent")),
    )
    op.create_index(op.f("ix_agent_pool_agent_agent_id"), "agent_pool_agent", ["agent_id"])

    with op.batch_alter_table("certificate_store") as batch:
        batch.add_column(sa.Column("store_type_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("client_machine", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("container_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("create_if_missing", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("password", sa.Text(), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE certificate_store SET "
            "store_type_id = (SELECT t.id FROM certificate_store_type t "
            "WHERE upper(t.short_name) = upper(certificate_store.store_type)), "
            "client_machine = (SELECT a.client_machine FROM agent a WHERE a.id = certificate_store.agent_id), "
            "approved = :yes, create_if_missing = :no"
        ),
        {"yes": True, "no": False},
    )
    with op.batch_alter_table("certificate_store") as batch:
        batch.drop_column("store_type")
        batch.alter_column("store_type_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("client_machine", existing_type=sa.String(length=255), nullable=False)
        batch.alter_column("approved", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("create_if_missing", existing_type=sa.Boolean(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_certificate_store_store_type_id_certificate_store_type"),
            "certificate_store_type",
            ["store_type_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_certificate_store_container_id_certificate_store_container"),
            "certificate_store_container",
            ["container_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_certificate_store_store_type_id"), ["store_type_id"])
        batch.create_index(op.f("ix_certificate_store_container_id"), ["container_id"])
        batch.create_index(op.f("ix_certificate_store_client_machine_id"), ["client_machine", "id"])
        batch.create_index(
            "uq_certificate_store_agent_type_path", ["agent_id", "store_type_id", "store_path"], unique=True
        )

    op.drop_table("certificate_store_entry")
    op.create_table(
        "certificate_store_entry",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("private_key_entry", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["certificate_store.id"],
            name=op.f("fk_certificate_store_entry_store_id_certificate_store"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificate.id"], name=op.f("fk_certificate_store_entry_certificate_id_certificate")
        ),
        sa.PrimaryKeyConstraint("store_id", "alias", name=op.f("pk_certificate_store_entry")),
    )
    op.create_index(op.f("ix_certificate_store_entry_certificate_id"), "certificate_store_entry", ["certificate_id"])

    with op.batch_alter_table("scheduled_job") as batch:
        batch.add_column(sa.Column("job_type_guid", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_scheduled_job_certificate_store_id"), "scheduled_job", ["certificate_store_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduled_job_certificate_store_id"), table_name="scheduled_job")
    with op.batch_alter_table("scheduled_job") as batch:
        batch.drop_column("job_type_guid")
    op.drop_index(op.f("ix_certificate_store_entry_certificate_id"), table_name="certificate_store_entry")
    op.drop_table("certificate_store_entry")
    op.create_table(
        "certificate_store_entry",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key_entry", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["certificate_store.id"],
            name=op.f("fk_certificate_store_entry_store_id_certificate_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "alias", name=op.f("pk_certificate_store_entry")),
    )
    with op.batch_alter_table("certificate_store") as batch:
        batch.add_column(sa.Column("store_type", sa.String(length=64), nullable=True))
    op.get_bind().execute(
        sa.text(
            "UPDATE certificate_store SET store_type = (SELECT t.short_name FROM certificate_store_type t "
            "WHERE t.id = certificate_store.store_type_id)"
        )
    )
    with op.batch_alter_table("certificate_store") as batch:
        batch.drop_index("uq_certificate_store_agent_type_path")
        batch.drop_index(op.f("ix_certificate_store_client_machine_id"))
        batch.drop_index(op.f("ix_certificate_store_container_id"))
        batch.drop_index(op.f("ix_certificate_store_store_type_id"))
        batch.drop_constraint(op.f("fk_certificate_store_container_id_certificate_store_container"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_certificate_store_store_type_id_certificate_store_type"), type_="foreignkey")
        for column in ("password", "create_if_missing", "approved", "container_id", "client_machine", "store_type_id"):
            batch.drop_column(column)
        batch.alter_column("store_type", existing_type=sa.String(length=64), nullable=False)
    op.drop_index(op.f("ix_agent_pool_agent_agent_id"), table_name="agent_pool_agent")
    op.drop_table("agent_pool_agent")
    op.drop_table("agent_pool")
    op.drop_index(op.f("ix_certificate_issued_cn"), table_name="certificate")
    op.drop_index(op.f("ix_certificate_not_after"), table_name="certificate")
    op.drop_table("certificate")
    op.drop_index("uq_certificate_store_server_type_name", table_name="certificate_store_server")
    op.drop_table("certificate_store_server")
    op.drop_table("certificate_store_container")
    op.drop_table("certificate_store_type")
