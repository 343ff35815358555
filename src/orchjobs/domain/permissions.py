"""Command's permissions, the built-in security roles, and what a caller holding some permissions may do.

Command names a permission two ways: the v2 access-control string (`/agents/management/modify/`, Command 11+) and
the v1 `Area:Permission` pair (`AgentManagement:Modify`, Command 10 and the v1 Security endpoints). A v2 string
grants every string it prefixes: `/agents/` holds both agent-management permissions, `/` holds everything. Roles
are stored with v2 strings; either spelling is accepted on input.

Two permissions are orchjobs' own, named in the same scheme: acknowledging failed jobs, which Command folds into
`/agents/management/modify/` (so that role still may), narrowed to `/agents/management/modify/acknowledge/` so an
operator may acknowledge without approving orchestrators; and `/agents/connect/`, which an orchestrator's own
account needs to register.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    path: str
    area: str
    level: str
    description: str
    extension: bool = False

    @property
    def v1(self) -> str:
        return f"{self.area}:{self.level}"


FULL_CONTROL = "/"
READ_AGENTS = "/agents/management/read/"
MODIFY_AGENTS = "/agents/management/modify/"
ACKNOWLEDGE_JOBS = "/agents/management/modify/acknowledge/"
READ_AUTO_REGISTRATION = "/agents/auto_registration/read/"
MODIFY_AUTO_REGISTRATION = "/agents/auto_registration/modify/"
CONNECT_ORCHESTRATOR = "/agents/connect/"
READ_STORES = "/certificate_stores/read/"
SCHEDULE_STORES = "/certificate_stores/schedule/"
MODIFY_STORES = "/certificate_stores/modify/"
READ_CERTIFICATES = "/certificates/collections/read/"
IMPORT_CERTIFICATES = "/certificates/import/"
READ_SETTINGS = "/application_settings/read/"
MODIFY_SETTINGS = "/application_settings/modify/"
READ_SYSTEM_SETTINGS = "/system_settings/read/"
MODIFY_SYSTEM_SETTINGS = "/system_settings/modify/"
READ_SECURITY = "/security/read/"
MODIFY_SECURITY = "/security/modify/"
READ_AUDITING = "/auditing/read/"

CATALOGUE: tuple[Permission, ...] = (
    Permission(READ_AGENTS, "AgentManagement", "Read", "View orchestrators, their jobs, history and failures."),
    Permission(
        MODIFY_AGENTS,
        "AgentManagement",
        "Modify",
        "Approve, disapprove and reset orchestrators; schedule, reschedule, unschedule and acknowledge jobs.",
    ),
    Permission(
        ACKNOWLEDGE_JOBS,
        "AgentManagement",
        "Acknowledge",
        "Acknowledge and unacknowledge failed jobs, and nothing else of Modify.",
        extension=True,
    ),
    Permission(READ_AUTO_REGISTRATION, "AgentAutoRegistration", "Read", "View orchestrator auto-registration."),
    Permission(MODIFY_AUTO_REGISTRATION, "AgentAutoRegistration", "Modify", "Change orchestrator auto-registration."),
    Permission(
        CONNECT_ORCHESTRATOR,
        "Orchestrator",
        "Connect",
        "Register as an orchestrator and speak the agent protocol; opens nothing of /KeyfactorAPI.",
        extension=True,
    ),
    Permission(
        READ_STORES, "CertificateStoreManagement", "Read", "View certificate stores, their types and inventory."
    ),
    Permission(SCHEDULE_STORES, "CertificateStoreManagement", "Schedule", "Schedule jobs on certificate stores."),
    Permission(MODIFY_STORES, "CertificateStoreManagement", "Modify", "Create, change and delete certificate stores."),
    Permission(READ_CERTIFICATES, "Certificates", "Read", "View certificates."),
    Permission(IMPORT_CERTIFICATES, "Certificates", "Import", "Import certificates."),
    Permission(READ_SETTINGS, "ApplicationSettings", "Read", "View application settings and webhooks."),
    Permission(MODIFY_SETTINGS, "ApplicationSettings", "Modify", "Change application settings and webhooks."),
    Permission(READ_SYSTEM_SETTINGS, "SystemSettings", "Read", "View system settings."),
    Permission(MODIFY_SYSTEM_SETTINGS, "SystemSettings", "Modify", "Change system settings."),
    Permission(READ_SECURITY, "SecuritySettings", "Read", "View security roles and identities."),
    Permission(MODIFY_SECURITY, "SecuritySettings", "Modify", "Change security roles and identities."),
    Permission(READ_AUDITING, "Auditing", "Read", "Read the audit log."),
)
_BY_PATH = {permission.path: permission for permission in CATALOGUE}
_BY_V1 = {permission.v1.casefold(): permission for permission in CATALOGUE}
# Prefixes a role may hold to grant every permission beneath them, as Command's v2 model allows.
GRANTING_PREFIXES = frozenset(
    {FULL_CONTROL}
    | {prefix for path in _BY_PATH for prefix in ("/" + "/".join(path.strip("/").split("/")[:n]) + "/" for n in (1, 2))}
)


@dataclass(frozen=True)
class BuiltInRole:
    name: str
    description: str
    permissions: frozenset[str]


ADMINISTRATOR = "Administrator"
OPERATOR = "Operator"
AUDITOR = "Auditor"
ORCHESTRATOR = "Orchestrator"
_READS = frozenset({READ_AGENTS, READ_STORES, READ_CERTIFICATES, READ_SETTINGS})
BUILT_IN_ROLES: tuple[BuiltInRole, ...] = (
    BuiltInRole(ADMINISTRATOR, "Every permission.", frozenset({FULL_CONTROL})),
    BuiltInRole(
        OPERATOR,
        "Reads everything an operator needs and acknowledges failed jobs; approves and changes nothing.",
        _READS | {ACKNOWLEDGE_JOBS},
    ),
    BuiltInRole(
        AUDITOR,
        "Reads everything, changes nothing.",
        _READS | {READ_AUTO_REGISTRATION, READ_SYSTEM_SETTINGS, READ_SECURITY, READ_AUDITING},
    ),
    BuiltInRole(
        ORCHESTRATOR,
        "An orchestrator's own account: the agent protocol, nothing of the API.",
        frozenset({CONNECT_ORCHESTRATOR}),
    ),
)


def identity_key(account_name: str) -> str:
    """What makes two identity (or role) names the same: case does not count, as with Command's account names."""
    return account_name.casefold()


def parse_permission(text: str) -> str | None:
    """The v2 string for a permission given in either spelling (case-insensitive), or None when it is unknown."""
    text = text.strip()
    if text.startswith("/"):
        path = text.lower() if text.endswith("/") else text.lower() + "/"
        return path if path in _BY_PATH or path in GRANTING_PREFIXES else None
    known = _BY_V1.get("".join(text.split()).casefold())
    return known.path if known else None


def v1_name(path: str) -> str:
    """The `Area:Permission` spelling of a v2 string; a granting prefix has none, so it stays as it is."""
    known = _BY_PATH.get(path)
    return known.v1 if known else path


def expand(held: Iterable[str]) -> list[str]:
    """Every catalogued permission the held strings grant, in catalogue order (what the v1 endpoints list)."""
    held = tuple(held)
    return [permission.path for permission in CATALOGUE if grants(held, permission.path)]


def grants(held: Iterable[str], required: str) -> bool:
    """Whether holding `held` grants `required`: a v2 string grants every string it prefixes."""
    return any(required.startswith(permission) for permission in held)


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what its roles let it do."""

    name: str
    roles: tuple[str, ...] = ()
    permissions: frozenset[str] = frozenset()

    def may(self, required: Iterable[str]) -> bool:
        return all(grants(self.permissions, permission) for permission in required)

    def missing(self, required: Iterable[str]) -> list[str]:
        return [permission for permission in required if not grants(self.permissions, permission)]
