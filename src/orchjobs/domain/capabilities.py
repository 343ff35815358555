"""Orchestrator capabilities and the job-type GUIDs the agent protocol identifies jobs by.

An orchestrator registers with capability names (`CertStores.PEM.Inventory`, `Custom.FetchLogs`) or, before
agent v2.16.1, with their GUIDs. A job handed to it carries the GUID as `JobTypeId`; a job whose GUID the
orchestrator does not know is silently dropped by it. The GUIDs of the C agent are fixed (agent-protocol.md §5.1);
any other capability gets a stable GUID derived from its name, so every server process agrees on it.
"""

import uuid
from dataclasses import dataclass

# The namespace for derived GUIDs. Never change it: orchestrators keep the GUIDs they were given.
_NAMESPACE = uuid.UUID("6f1c2a5e-9b0d-4e7a-8f31-2c4d5e6f7a80")

_KNOWN: dict[str, uuid.UUID] = {
    "CertStores.PEM.Inventory": uuid.UUID("a809ce1f-1eea-4738-a38e-15708c89c981"),
    "CertStores.PEM.Management": uuid.UUID("1d411b36-ae72-433f-9f3f-8593e836a1af"),
    "CertStores.PEM.Reenrollment": uuid.UUID("aa015d10-cffc-41f7-a9a4-c9615f6f3bdf"),
    "CertStores.PEM.Discovery": uuid.UUID("e98151de-53ad-4b99-b52a-f37118ec0c5c"),
    "CertStores.JKS.Inventory": uuid.UUID("67b63010-d738-47c3-87a2-9f289466c881"),
    "CertStores.JKS.Management": uuid.UUID("b614f9e2-c56b-421c-b548-03d42eb32f8a"),
    "CertStores.JKS.Reenrollment": uuid.UUID("48743e90-108e-4dc3-b81c-7fb830215d1f"),
    "CertStores.JKS.Discovery": uuid.UUID("74d9f7c5-b2ac-4f21-a72b-29b5adc90651"),
    "Custom.FetchLogs": uuid.UUID("0d8cf0c8-56ca-4b8a-b16a-c062018e170d"),
}
KNOWN_GUIDS: dict[str, uuid.UUID] = {name.lower(): guid for name, guid in _KNOWN.items()}
_NAMES_BY_GUID: dict[uuid.UUID, str] = {guid: name for name, guid in _KNOWN.items()}
FETCH_LOGS = "Custom.FetchLogs"
LOGS = "LOGS"  # the short capability Command's docs query for (`Capabilities -contains "LOGS"`)
# Either name lets an orchestrator run FetchLogs: the C agent reports Custom.FetchLogs (or its GUID), Command's docs
# find orchestrators that can fetch logs with `Capabilities -contains "LOGS"`, and some report only that.
FETCH_LOGS_NAMES = (FETCH_LOGS, LOGS)


@dataclass(frozen=True)
class Capability:
    """A capability name, e.g. `CertStores.PEM.Inventory`, with its job-type GUID."""

    name: str
    guid: uuid.UUID

    @property
    def job_type(self) -> str:
        """The JobType name history shows: Inventory, Management, … or the custom job type's name."""
        parts = self.name.split(".")
        return parts[-1] if parts[0].lower() in ("certstores", "custom") else self.name


def capability_guid(name: str) -> uuid.UUID:
    return KNOWN_GUIDS.get(name.lower()) or uuid.uuid5(_NAMESPACE, name.lower())


def store_capability(store_type: str, operation: str) -> Capability:
    """The capability that runs `operation` (Inventory, Management, …) on stores of `store_type` (PEM, JKS…)."""
    name = f"CertStores.{store_type}.{operation}"
    return Capability(name, capability_guid(name))


def custom_capability(job_type_name: str) -> Capability:
    name = f"Custom.{job_type_name}"
    return Capability(name, capability_guid(name))


def normalize_capabilities(reported: list[str]) -> list[str]:
    """Capability names from what an orchestrator reports: names as they are, known GUIDs mapped back to names."""
    names = []
    for item in reported:
        text = item.strip()
        try:
            guid = uuid.UUID(text)
        except ValueError:
            names.append(text)
            continue
        names.append(_NAMES_BY_GUID.get(guid, text.lower()))
    return list(dict.fromkeys(name for name in names if name))


def with_fetch_logs_names(capabilities: list[str]) -> list[str]:
    """The capabilities plus the other FetchLogs name when the orchestrator reported only one of the two."""
    lowered = {name.lower() for name in capabilities}
    missing = [name for name in FETCH_LOGS_NAMES if name.lower() not in lowered]
    return [*capabilities, *missing] if len(missing) == 1 else capabilities
