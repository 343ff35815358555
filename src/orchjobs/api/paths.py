"""Every path the service answers on: the two prefixes, each router's prefix, and the protocol's job endpoints.

Orchestrators are handed the job endpoints relative to the protocol prefix (agent-protocol.md §4.8), so those are
written once here and both the routes and the answers that name them read them from here.
"""

API = "/KeyfactorAPI"
AGENTS = "/KeyfactorAgents"

# Admin API routers.
ORCHESTRATOR_JOBS = f"{API}/OrchestratorJobs"
CUSTOM_JOBS = f"{ORCHESTRATOR_JOBS}/Custom"
CUSTOM_JOB_TYPES = f"{API}/JobTypes/Custom"
ORCHESTRATORS = f"{API}/Agents"
APP_SETTINGS = f"{API}/AppSetting"
STATUS = f"{API}/Status"
WEBHOOKS = f"{API}/Webhooks"
CERTIFICATE_STORES = f"{API}/CertificateStores"
STORE_TYPES = f"{API}/CertificateStoreTypes"
CERTIFICATES = f"{API}/Certificates"
CONTAINERS = f"{API}/CertificateStoreContainers"
AGENT_POOLS = f"{API}/AgentPools"
SECURITY = f"{API}/Security"
SECURITY_ROLES = f"{SECURITY}/Roles"
AUDIT = f"{API}/Audit"

# Orchestrator protocol: routers, and the endpoints relative to AGENTS that answers hand out.
SESSION = f"{AGENTS}/Session"
JOBS = f"{AGENTS}/Jobs"
CONFIGURATION_ENDPOINT = "Jobs/Configuration"
COMPLETION_ENDPOINT = "Jobs/Complete"
INVENTORY_ENDPOINT = "Jobs/Inventory"
ENROLL_ENDPOINT = "Jobs/Enroll"
DISCOVERY_ENDPOINT = "Jobs/Discovery"


def route(endpoint: str) -> str:
    """The route of a job endpoint under the JOBS router: `Jobs/Complete` → `/Complete`."""
    return "/" + endpoint.split("/", 1)[1]
