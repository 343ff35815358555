"""Explain a query for a resource without running it (an extension): whether it is valid, its canonical text, what it
means in English, the fields it uses, and the instants its dates stand for now. Nothing here reads a table."""

from dataclasses import dataclass
from datetime import datetime

from orchjobs.errors import InvalidRequestError, QuerySyntaxError
from orchjobs.query import Comparison, FieldRegistry, Node, Not, QueryField, describe, parse, to_text
from orchjobs.query.ast import Membership
from orchjobs.query.sql import kind_word, operators_of
from orchjobs.query.timewindow import TimeWindow, time_windows
from orchjobs.service.listing import condition
from orchjobs.store.agent_admin import AGENTS
from orchjobs.store.agent_pools import AGENT_POOLS, DEFAULT_POOL_AGENTS
from orchjobs.store.audit import AUDIT
from orchjobs.store.certificates import CERTIFICATES
from orchjobs.store.containers import CONTAINERS
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.job_types import JOB_TYPES
from orchjobs.store.listing import ListResource
from orchjobs.store.scheduled_jobs import SCHEDULED_JOBS
from orchjobs.store.security import IDENTITIES, ROLES
from orchjobs.store.store_types import STORE_TYPES
from orchjobs.store.stores import CERTIFICATE_STORES, SERVERS
from orchjobs.store.webhooks import DELIVERIES, WEBHOOKS

# Every resource whose list (or bulk action) takes a query, by the name Explain answers under; then other names
# that reach it (any case).
_RESOURCES: tuple[tuple[str, ListResource, tuple[str, ...]], ...] = (
    ("JobHistory", JOB_HISTORY, ()),
    ("ScheduledJobs", SCHEDULED_JOBS, ()),
    ("Agents", AGENTS, ("Orchestrators",)),
    ("JobTypes", JOB_TYPES, ("CustomJobTypes",)),
    ("CertificateStores", CERTIFICATE_STORES, ("Stores",)),
    ("CertificateStoreServers", SERVERS, ("CertificateStores/Server",)),
    ("CertificateStoreTypes", STORE_TYPES, ("StoreTypes",)),
    ("CertificateStoreContainers", CONTAINERS, ("Containers",)),
    ("Certificates", CERTIFICATES, ()),
    ("AgentPools", AGENT_POOLS, ()),
    ("AgentPoolAgents", DEFAULT_POOL_AGENTS, ("AgentPools/Agents",)),
    ("SecurityRoles", ROLES, ("Roles",)),
    ("SecurityIdentities", IDENTITIES, ("Identities",)),
    ("Webhooks", WEBHOOKS, ()),
    ("WebhookDeliveries", DELIVERIES, ()),
    ("Audit", AUDIT, ("AuditLog",)),
)
_BY_NAME: dict[str, tuple[str, ListResource]] = {
    name.lower(): (canonical, resource) for canonical, resource, aliases in _RESOURCES for name in (canonical, *aliases)
}
RESOURCE_NAMES: tuple[str, ...] = tuple(canonical for canonical, _resource, _aliases in _RESOURCES)
# Longer than any resource name: a longer one is refused without being echoed at length.
_LONGEST_NAME = 64


__all__ = ["RESOURCE_NAMES", "Explanation", "FieldFacts", "TimeWindow", "catalogue", "explain", "resolve"]


@dataclass(frozen=True)
class FieldFacts:
    """A field as Explain shows it: its canonical name, kind (in words), operators (those a query applies to it, in
    order of appearance, or all it takes), aliases, whether it sorts, and an enumeration's (value, name) pairs."""

    name: str
    kind: str
    operators: tuple[str, ...]
    aliases: tuple[str, ...]
    sortable: bool
    values: tuple[tuple[int, str], ...]


def _facts(query_field: QueryField, operators: tuple[str, ...]) -> FieldFacts:
    values = sorted(set((query_field.enum_names or {}).values()))
    return FieldFacts(
        name=query_field.name,
        kind=kind_word(query_field.kind),
        operators=operators,
        aliases=query_field.aliases,
        sortable=query_field.sortable,
        values=tuple((value, query_field.label_of(value)) for value in values),
    )


@dataclass(frozen=True)
class Explanation:
    """A valid query (`error` None) with its canonical text, English, fields and time windows; or the error."""

    resource: str
    query: str
    error: QuerySyntaxError | None = None
    description: str = ""
    fields: tuple[FieldFacts, ...] = ()
    time_windows: tuple[TimeWindow, ...] = ()


def resolve(name: str) -> tuple[str, ListResource]:
    """The canonical name and the resource `name` means (any case); InvalidRequestError naming the known ones."""
    found = _BY_NAME.get(name.strip().lower()) if len(name) <= _LONGEST_NAME else None
    if found is None:
        shown = name if len(name) <= _LONGEST_NAME else name[:_LONGEST_NAME] + "…"
        raise InvalidRequestError(f"Unknown resource {shown!r}; the known resources are: {', '.join(RESOURCE_NAMES)}.")
    return found


def catalogue(name: str) -> tuple[str, tuple[FieldFacts, ...]]:
    """The canonical name of the resource called `name` and every field it can be queried by."""
    canonical, resource = resolve(name)
    everything = ("-eq NULL", "-ne NULL")
    return canonical, tuple(_facts(f, operators_of(f.kind) + everything) for f in resource.fields.fields)


def explain(name: str, query: str, *, now: datetime, user: str | None, max_length: int) -> Explanation:
    """Explain `query` for the resource called `name`. A query that does not parse or compile is a valid
    explanation with its error; only an unknown resource raises (InvalidRequestError)."""
    canonical, resource = resolve(name)
    try:
        # Compiled as a list would compile it (same checks, same cache), then read back for its parts.
        condition(resource, query, now=now, max_length=max_length, user=user)
        node = parse(query, max_length=max_length)
        windows = time_windows(node, resource.fields, now=now)
    except QuerySyntaxError as error:
        return Explanation(canonical, query, error=error)
    return Explanation(
        resource=canonical,
        query=to_text(node, resource.fields),
        description=describe(node, resource.fields),
        fields=_used_fields(node, resource.fields),
        time_windows=tuple(windows),
    )


def _used_fields(node: Node | None, registry: FieldRegistry) -> tuple[FieldFacts, ...]:
    operators: dict[QueryField, list[str]] = {}
    for condition_node in _conditions(node):
        query_field = registry.find(condition_node.field)
        if query_field is None:  # cannot happen for a tree that compiled
            continue
        used = operators.setdefault(query_field, [])
        op = (
            condition_node.op
            if not (isinstance(condition_node, Comparison) and condition_node.value is None)
            else (f"{condition_node.op} NULL")
        )
        if op not in used:
            used.append(op)
    return tuple(_facts(query_field, tuple(ops)) for query_field, ops in operators.items())


def _conditions(node: Node | None) -> list[Comparison | Membership]:
    if node is None:
        return []
    if isinstance(node, Comparison | Membership):
        return [node]
    if isinstance(node, Not):
        return _conditions(node.item)
    return [found for item in node.items for found in _conditions(item)]
