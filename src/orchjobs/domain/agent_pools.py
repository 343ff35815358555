"""Agent pools (Command's SSL discovery and monitoring pools): the built-in Default Agent Pool, which capabilities
make an orchestrator able to discover or monitor SSL endpoints, and the rules for a pool's name."""

import re
import uuid

from orchjobs.errors import InvalidRequestError

# Command's built-in pool: every approved orchestrator that is in no other pool. It cannot be deleted or renamed.
DEFAULT_POOL_ID = uuid.UUID("00000000-0000-0000-0000-000000000000")
DEFAULT_POOL_NAME = "Default Agent Pool"
MAX_NAME_LENGTH = 255
# An orchestrator AllowsDiscover (AllowsMonitor) when it reported one of these capabilities (any case): the names of
# Command's SSL job types, and SSL, which covers both.
DISCOVER_CAPABILITIES = ("SSL", "SslDiscovery")
MONITOR_CAPABILITIES = ("SSL", "SslMonitoring", "Monitoring")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def checked_pool_name(name: str | None) -> str:
    """The name as stored: surrounding spaces removed; 400 when it is missing, blank, too long or holds control
    characters."""
    if name is None or not name.strip():
        raise InvalidRequestError("Name is required: the agent pool's name.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"Name may be at most {MAX_NAME_LENGTH} characters long.")
    if _CONTROL.search(name):
        raise InvalidRequestError("Name may not contain control characters.")
    return name
