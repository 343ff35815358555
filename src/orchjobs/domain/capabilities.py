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

KNOWN_GUIDS: dict[str, uuid.UUID] = {
    "certstores.pem.inventory": uuid.UUID("a809ce1f-1eea-4738-a38e-15708c89c981"),
    "certstores.pem.management": uuid.UUID("1d411b36-ae72-433f-9f3f-8593e836a1af"),
    "certstores.pem.reenrollment": uuid.UUID("aa015d10-cffc-41f7-a9a4-c9615f6f3bdf"),
    "certstores.pem.discovery": uuid.UUID("e98151de-53ad-4b99-b52a-f37118ec0c5c"),
    "custom.fetchlogs": uuid.UUID("0d8cf0c8-56ca-4b8a-b16a-c062018e170d"),
}
FETCH_LOGS = "Custom.FetchLogs"
LOGS = "LOGS"  # the short capability Command's docs query for (`Capabilities -contains "LOGS"`)


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
    by_guid = {guid: name for name, guid in KNOWN_GUIDS.items()}
    names = []
    for item in reported:
        text = item.strip()
        try:
            guid = uuid.UUID(text)
        except ValueError:
            names.append(text)
            continue
        known = by_guid.get(guid)
        names.append(_display_name(known) if known else text.lower())
    return list(dict.fromkeys(name for name in names if name))


def _display_name(lowered: str) -> str:
    canonical = {
        "certstores.pem.inventory": "CertStores.PEM.Inventory",
        "certstores.pem.management": "CertStores.PEM.Management",
        "certstores.pem.reenrollment": "CertStores.PEM.Reenrollment",
        "certstores.pem.discovery": "CertStores.PEM.Discovery",
        "custom.fetchlogs": "Custom.FetchLogs",
    }
    return canonical[lowered]
