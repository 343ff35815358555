"""Security roles and identities: roles hold Command's permissions, identities hold roles; the built-in roles.

Users keep their credentials in user_account; what they may do moves from its is_admin flag to roles. An
administrator gets Administrator; a user some orchestrator registered with gets Orchestrator (its credentials then
open nothing of the API); any other user gets Operator.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:40:00.000000
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from orchjobs.store.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The built-in roles as this revision made them (later revisions change them, never this text).
_ROLES = [
    (1, "Administrator", "Every permission.", ["/"]),
    (
        2,
        "Operator",
        "Reads everything an operator needs and acknowledges failed jobs; approves and changes nothing.",
        [
            "/agents/management/read/",
            "/certificate_stores/read/",
            "/certificates/collections/read/",
            "/application_settings/read/",
            "/agents/management/modify/acknowledge/",
        ],
    ),
    (
        3,
        "Auditor",
        "Reads everything, changes nothing.",
        [
            "/agents/management/read/",
            "/certificate_stores/read/",
            "/certificates/collections/read/",
            "/application_settings/read/",
            "/agents/auto_registration/read/",
            "/system_settings/read/",
            "/security/read/",
            "/auditing/read/",
        ],
    ),
    (4, "Orchestrator", "An orchestrator's own account: the agent protocol, nothing of the API.", ["/agents/connect/"]),
]


def upgrade() -> None:
    role = op.create_table(
        "security_role",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("immutable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_role")),
        sa.UniqueConstraint("name_key", name=op.f("uq_security_role_name_key")),
    )
    permission = op.create_table(
        "security_role_permission",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["security_role.id"],
            name=op.f("fk_security_role_permission_role_id_security_role"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "permission", name=op.f("pk_security_role_permission")),
    )
    op.create_table(
        "security_identity",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_name", sa.String(length=255), nullable=False),
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("identity_type", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_identity")),
        sa.UniqueConstraint("account_key", name=op.f("uq_security_identity_account_key")),
    )
    op.create_table(
        "security_identity_role",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["security_identity.id"],
            name=op.f("fk_security_identity_role_identity_id_security_identity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["security_role.id"],
            name=op.f("fk_security_identity_role_role_id_security_role"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", "role_id", name=op.f("pk_security_identity_role")),
    )
    op.create_index(op.f("ix_security_identity_role_role_id"), "security_identity_role", ["role_id"])
    op.bulk_insert(
        role,
        [
            {"id": role_id, "name": name, "name_key": name.casefold(), "description": description}
            | {"enabled": True, "private": False, "immutable": True}
            for role_id, name, description, _ in _ROLES
        ],
    )
    op.bulk_insert(
        permission,
        [{"role_id": role_id, "permission": path} for role_id, _, _, paths in _ROLES for path in paths],
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # The ids were given; later roles take the next ones (SQLite does so by itself).
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('security_role', 'id'), 4)"))
    _give_users_roles(conn)
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("is_admin")


def _give_users_roles(conn: sa.Connection) -> None:
    """Each user becomes an identity with the role its flag and its use imply (see the module docstring)."""
    users = conn.execute(
        sa.text(
            "SELECT u.username, u.is_admin, EXISTS (SELECT 1 FROM agent a WHERE lower(a.username) = lower(u.username))"
            " AS registered FROM user_account u ORDER BY u.id"
        )
    ).all()
    now = datetime.now(UTC)
    seen: set[str] = set()
    for username, is_admin, registered in users:
        key = username.casefold()
        if key in seen:
            continue
        seen.add(key)
        identity_id = conn.execute(
            sa.text(
                "INSERT INTO security_identity (account_name, account_key, identity_type, created_at)"
                " VALUES (:name, :key, 'User', :now) RETURNING id"
            ).bindparams(sa.bindparam("now", type_=UtcDateTime())),
            {"name": username, "key": key, "now": now},
        ).scalar_one()
        role_id = 1 if is_admin else 4 if registered else 2
        conn.execute(
            sa.text("INSERT INTO security_identity_role (identity_id, role_id) VALUES (:identity, :role)"),
            {"identity": identity_id, "role": role_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE user_account SET is_admin = EXISTS (SELECT 1 FROM security_identity i"
        " JOIN security_identity_role r ON r.identity_id = i.id"
        " WHERE i.account_key = lower(user_account.username) AND r.role_id = 1)"
    )
    op.drop_index(op.f("ix_security_identity_role_role_id"), table_name="security_identity_role")
    op.drop_table("security_identity_role")
    op.drop_table("security_identity")
    op.drop_table("security_role_permission")
    op.drop_table("security_role")
