"""The permission every admin-API route needs, in Command's names (its permission model's `/area/…/` strings, as each
endpoint's documentation page gives them), in one table that the one authorizing dependency (`api.auth.UserDep`)
reads and docs/permissions.md lists. Orchestrator-protocol routes are authenticated by their session or their
identity instead.

What each caller holds comes from its security roles (domain/permissions.py, service/security.py).
"""

from orchjobs.api import paths
from orchjobs.domain.permissions import (
    ACKNOWLEDGE_JOBS,
    IMPORT_CERTIFICATES,
    MODIFY_AGENTS,
    MODIFY_SECURITY,
    MODIFY_SETTINGS,
    MODIFY_STORES,
    READ_AGENTS,
    READ_AUDITING,
    READ_CERTIFICATES,
    READ_SECURITY,
    READ_SETTINGS,
    READ_STORES,
    SCHEDULE_STORES,
    Principal,
)

# Status/Endpoints: any caller that may call some route of the API (an orchestrator's own account may not).
SIGNED_IN = "(signed in)"

_JOBS, _AGENTS, _TYPES, _HOOKS = paths.ORCHESTRATOR_JOBS, paths.ORCHESTRATORS, paths.CUSTOM_JOB_TYPES, paths.WEBHOOKS
_STORES = paths.CERTIFICATE_STORES
_STORE_TYPES = paths.STORE_TYPES
_CONTAINERS, _POOLS = paths.CONTAINERS, paths.AGENT_POOLS
_ROLES, _SECURITY = paths.SECURITY_ROLES, paths.SECURITY

PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", f"{_JOBS}/JobHistory"): (READ_AGENTS,),
    ("GET", f"{_JOBS}/JobHistory/Count"): (READ_AGENTS,),
    ("GET", f"{_JOBS}/JobHistory/FailureCount"): (READ_AGENTS,),
    ("GET", f"{_JOBS}/JobHistory/FailureGroups"): (READ_AGENTS,),
    ("GET", f"{_JOBS}/JobHistory/Export"): (READ_AGENTS,),
    ("GET", f"{_JOBS}/JobStatus/Data"): (READ_AGENTS,),
    # Extension: explains a query for any resource; reads no data, so the plain read permission of this area.
    ("GET", f"{_JOBS}/Query/Explain"): (READ_AGENTS,),
    # Command asks /agents/management/modify/ here; its narrower extension lets an Operator acknowledge and no more.
    ("POST", f"{_JOBS}/Acknowledge"): (ACKNOWLEDGE_JOBS,),
    ("POST", f"{_JOBS}/Unacknowledge"): (ACKNOWLEDGE_JOBS,),
    # A preview needs what its action needs: its token is of use only to who may commit it.
    ("POST", f"{_JOBS}/Acknowledge/Preview"): (ACKNOWLEDGE_JOBS,),
    ("POST", f"{_JOBS}/Unacknowledge/Preview"): (ACKNOWLEDGE_JOBS,),
    ("GET", f"{_JOBS}/ScheduledJobs"): (READ_AGENTS,),
    ("GET", f"{_JOBS}/ScheduledJobs/Count"): (READ_AGENTS,),
    ("POST", f"{_JOBS}/Reschedule"): (MODIFY_AGENTS, SCHEDULE_STORES),
    ("POST", f"{_JOBS}/Unschedule"): (MODIFY_AGENTS, SCHEDULE_STORES),
    ("POST", f"{_JOBS}/Reschedule/Preview"): (MODIFY_AGENTS, SCHEDULE_STORES),
    ("POST", f"{_JOBS}/Unschedule/Preview"): (MODIFY_AGENTS, SCHEDULE_STORES),
    ("POST", f"{_JOBS}/Custom"): (MODIFY_AGENTS,),
    ("POST", f"{_JOBS}/Custom/Bulk"): (MODIFY_AGENTS,),
    ("GET", _AGENTS): (READ_AGENTS,),
    ("GET", f"{_AGENTS}/{{agent_id}}"): (READ_AGENTS,),
    # Extension: OK / Late / Silent against the heartbeat interval, which the caller need not be able to read.
    ("GET", f"{_AGENTS}/Health"): (READ_AGENTS,),
    ("POST", f"{_AGENTS}/Approve"): (MODIFY_AGENTS,),
    ("POST", f"{_AGENTS}/Disapprove"): (MODIFY_AGENTS,),
    ("POST", f"{_AGENTS}/Reset"): (MODIFY_AGENTS,),
    ("POST", f"{_AGENTS}/SetAuthCertificateReenrollment"): (MODIFY_AGENTS,),
    ("POST", f"{_AGENTS}/{{agent_id}}/Reset"): (MODIFY_AGENTS,),
    ("POST", f"{_AGENTS}/{{agent_id}}/FetchLogs"): (MODIFY_AGENTS,),
    ("GET", _TYPES): (READ_AGENTS,),
    ("GET", f"{_TYPES}/{{job_type_id}}"): (READ_AGENTS,),
    ("POST", _TYPES): (MODIFY_AGENTS,),
    ("PUT", _TYPES): (MODIFY_AGENTS,),
    ("DELETE", f"{_TYPES}/{{job_type_id}}"): (MODIFY_AGENTS,),
    ("GET", f"{paths.STATUS}/Endpoints"): (SIGNED_IN,),
    ("GET", paths.APP_SETTINGS): (READ_SETTINGS,),
    ("GET", f"{paths.APP_SETTINGS}/{{key}}"): (READ_SETTINGS,),
    ("PUT", f"{paths.APP_SETTINGS}/{{key}}/Set"): (MODIFY_SETTINGS,),
    ("PUT", paths.APP_SETTINGS): (MODIFY_SETTINGS,),
    # Extension: the audit log (docs/audit.md).
    ("GET", paths.AUDIT): (READ_AUDITING,),
    ("GET", f"{paths.AUDIT}/Count"): (READ_AUDITING,),
    # Webhooks (an extension) are settings of the service: a webhook makes it call an address its creator chose.
    ("GET", _HOOKS): (READ_SETTINGS,),
    ("GET", f"{_HOOKS}/{{webhook_id}}"): (READ_SETTINGS,),
    ("GET", f"{_HOOKS}/{{webhook_id}}/Deliveries"): (READ_SETTINGS,),
    ("POST", _HOOKS): (MODIFY_SETTINGS,),
    ("PUT", f"{_HOOKS}/{{webhook_id}}"): (MODIFY_SETTINGS,),
    ("DELETE", f"{_HOOKS}/{{webhook_id}}"): (MODIFY_SETTINGS,),
    ("GET", _STORES): (READ_STORES,),
    ("GET", f"{_STORES}/{{store_id}}"): (READ_STORES,),
    ("POST", _STORES): (MODIFY_STORES,),
    ("PUT", _STORES): (MODIFY_STORES,),
    ("DELETE", _STORES): (MODIFY_STORES,),
    ("DELETE", f"{_STORES}/{{store_id}}"): (MODIFY_STORES,),
    ("PUT", f"{_STORES}/Password"): (MODIFY_STORES,),
    ("PUT", f"{_STORES}/AssignContainer"): (MODIFY_STORES,),
    ("POST", f"{_STORES}/Approve"): (MODIFY_STORES,),
    ("GET", f"{_STORES}/Server"): (READ_STORES,),
    ("POST", f"{_STORES}/Server"): (MODIFY_STORES,),
    ("PUT", f"{_STORES}/Server"): (MODIFY_STORES,),
    ("POST", f"{_STORES}/Schedule"): (SCHEDULE_STORES,),
    ("POST", f"{_STORES}/Certificates/Add"): (SCHEDULE_STORES,),
    ("POST", f"{_STORES}/Certificates/Remove"): (SCHEDULE_STORES,),
    ("PUT", f"{_STORES}/DiscoveryJob"): (SCHEDULE_STORES,),
    ("POST", f"{_STORES}/Reenrollment"): (SCHEDULE_STORES,),
    ("GET", _STORE_TYPES): (READ_STORES,),
    ("GET", f"{_STORE_TYPES}/Name/{{name}}"): (READ_STORES,),
    ("GET", f"{_STORE_TYPES}/{{store_type_id}}"): (READ_STORES,),
    ("POST", _STORE_TYPES): (MODIFY_STORES,),
    ("PUT", _STORE_TYPES): (MODIFY_STORES,),
    ("DELETE", _STORE_TYPES): (MODIFY_STORES,),
    ("DELETE", f"{_STORE_TYPES}/{{store_type_id}}"): (MODIFY_STORES,),
    ("GET", paths.CERTIFICATES): (READ_CERTIFICATES,),
    ("GET", f"{paths.CERTIFICATES}/{{certificate_id}}"): (READ_CERTIFICATES,),
    ("POST", f"{paths.CERTIFICATES}/Import"): (IMPORT_CERTIFICATES,),
    ("GET", f"{paths.CERTIFICATE_STORES}/{{store_id}}/Inventory"): (READ_STORES,),
    ("GET", _CONTAINERS): (READ_STORES,),
    ("GET", f"{_CONTAINERS}/{{container_id}}"): (READ_STORES,),
    ("POST", _CONTAINERS): (MODIFY_STORES,),
    ("PUT", _CONTAINERS): (MODIFY_STORES,),
    ("DELETE", f"{_CONTAINERS}/{{container_id}}"): (MODIFY_STORES,),
    # Agent pools group orchestrators: Command guards them as the orchestrators themselves.
    ("GET", _POOLS): (READ_AGENTS,),
    ("GET", f"{_POOLS}/Agents"): (READ_AGENTS,),
    ("GET", f"{_POOLS}/{{pool_id}}"): (READ_AGENTS,),
    ("POST", _POOLS): (MODIFY_AGENTS,),
    ("PUT", _POOLS): (MODIFY_AGENTS,),
    ("DELETE", f"{_POOLS}/{{pool_id}}"): (MODIFY_AGENTS,),
    ("GET", _ROLES): (READ_SECURITY,),
    ("GET", f"{_ROLES}/{{role_id}}"): (READ_SECURITY,),
    ("POST", _ROLES): (MODIFY_SECURITY,),
    ("PUT", _ROLES): (MODIFY_SECURITY,),
    ("DELETE", f"{_ROLES}/{{role_id}}"): (MODIFY_SECURITY,),
    ("POST", f"{_ROLES}/{{role_id}}/Copy"): (MODIFY_SECURITY,),
    ("GET", f"{_ROLES}/{{role_id}}/Identities"): (READ_SECURITY,),
    ("PUT", f"{_ROLES}/{{role_id}}/Identities"): (MODIFY_SECURITY,),
    ("GET", f"{_ROLES}/{{role_id}}/Permissions"): (READ_SECURITY,),
    ("GET", f"{_ROLES}/{{role_id}}/Permissions/Global"): (READ_SECURITY,),
    ("POST", f"{_ROLES}/{{role_id}}/Permissions/Global"): (MODIFY_SECURITY,),
    ("PUT", f"{_ROLES}/{{role_id}}/Permissions/Global"): (MODIFY_SECURITY,),
    ("GET", f"{_SECURITY}/Identities"): (READ_SECURITY,),
    ("POST", f"{_SECURITY}/Identities"): (MODIFY_SECURITY,),
    ("GET", f"{_SECURITY}/Identities/Lookup"): (READ_SECURITY,),
    ("GET", f"{_SECURITY}/Identities/{{identity_id}}"): (READ_SECURITY,),
    ("DELETE", f"{_SECURITY}/Identities/{{identity_id}}"): (MODIFY_SECURITY,),
    # What the caller itself may do: any caller that may call some route (an orchestrator's own account may not).
    ("GET", f"{_SECURITY}/My"): (SIGNED_IN,),
}


def required(method: str, path: str) -> tuple[str, ...]:
    """The permissions a route needs, by its method and path template; KeyError for a route the table forgot."""
    return PERMISSIONS[(method, path)]


def may_call(principal: Principal, permissions: tuple[str, ...]) -> bool:
    if permissions == (SIGNED_IN,):
        return any(principal.may(needed) for needed in PERMISSIONS.values() if needed != (SIGNED_IN,))
    return principal.may(permissions)


def refusal(principal: Principal, permissions: tuple[str, ...]) -> str | None:
    """Why `principal` may not call a route that needs `permissions`, or None when it may."""
    if may_call(principal, permissions):
        return None
    if permissions == (SIGNED_IN,):
        return f"{principal.name!r} holds no permission of this API."
    missing = ", ".join(principal.missing(permissions))
    return f"{principal.name!r} does not hold {missing}, which this call needs."
