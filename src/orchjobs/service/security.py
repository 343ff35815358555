"""Who may do what: a caller's principal from the roles of its identity, and the rules that keep security
manageable (someone must always be able to change roles)."""

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine

from orchjobs.domain.permissions import Principal
from orchjobs.errors import InvalidRequestError
from orchjobs.store import security as store
from orchjobs.store.engine import read_transaction
from orchjobs.store.rows import Record


def principal_from_grants(name: str, grants: Iterable[Record]) -> Principal:
    """The principal of `name` from (role, permission) rows; rows whose role is None (no role) grant nothing."""
    roles: dict[str, None] = {}
    permissions: set[str] = set()
    for row in grants:
        if row.role is not None:
            roles[row.role] = None
        if row.permission is not None:
            permissions.add(row.permission)
    return Principal(name=name, roles=tuple(roles), permissions=frozenset(permissions))


def principal_of(engine: Engine, account_name: str, *, extra_role_names: Sequence[str] = ()) -> Principal:
    """The principal of an identity that has no password here (a bearer token's subject): the enabled roles the
    identity holds, plus the enabled roles named in `extra_role_names` (a token's role claim). An identity that
    does not exist holds only the extra roles, so it may be nothing at all."""
    with read_transaction(engine) as conn:
        grants = [*store.identity_grants(conn, account_name=account_name)]
        grants.extend(store.role_grants(conn, role_names=extra_role_names))
    return principal_from_grants(account_name, grants)


def check_a_security_administrator_remains(conn: Connection) -> None:
    """Refuse (inside the change's transaction, so it rolls back) a change after which no identity could manage
    security: nobody could ever grant a role again."""
    if store.security_administrators(conn) == 0:
        raise InvalidRequestError(
            "This change would leave no identity holding a role that may change security roles "
            "(such as Administrator); give another identity that role first."
        )
