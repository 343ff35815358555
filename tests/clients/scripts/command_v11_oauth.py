"""Drive orchjobs with `keyfactor-command-sdk` 11.0.0a1's own OAuth path: its `command_v11_client.keyfactor` module
reads KEYFACTOR_HOSTNAME, KEYFACTOR_SCHEME and COMMAND_IDP_TOKENURL, COMMAND_IDP_CLIENTID, COMMAND_IDP_CLIENTSECRET
when it is imported, and its client then posts `grant_type=client_credentials` with the id and secret in the body to
the token URL and sends `Authorization: Bearer <access_token>` on every call.

    python command_v11_oauth.py <server_url> <token_url> <client_id> <client_secret>

Calls GET /OrchestratorJobs/JobHistory and GET /Agents and prints one JSON document with each status and how many
items the client parsed.
"""

import os
import sys
from typing import Any
from urllib.parse import urlsplit

from _common import emit


def main(server_url: str, token_url: str, client_id: str, client_secret: str) -> None:
    server = urlsplit(server_url)
    os.environ.update(
        {
            # No such file: the module then reads the environment instead of a JSON configuration.
            "KEYFACTOR_CONFIG": os.path.join(os.path.dirname(os.path.abspath(__file__)), "no-such-environment.json"),
            "KEYFACTOR_HOSTNAME": server.netloc,
            "KEYFACTOR_SCHEME": server.scheme,
            "COMMAND_IDP_TOKENURL": token_url,
            "COMMAND_IDP_CLIENTID": client_id,
            "COMMAND_IDP_CLIENTSECRET": client_secret,
        }
    )
    for name in ("KEYFACTOR_USERNAME", "KEYFACTOR_PASSWORD", "KEYFACTOR_TOKEN"):
        os.environ.pop(name, None)
    from command_v11_client import keyfactor  # reads the environment above at import
    from command_v11_client.api.agent import get_agents
    from command_v11_client.api.orchestrator_job import get_orchestrator_jobs_job_history

    client = keyfactor.kfclient
    history = get_orchestrator_jobs_job_history.sync_detailed(client=client)
    agents = get_agents.sync_detailed(client=client)
    emit(
        {
            "authorization_scheme": client.get_httpx_client().headers["Authorization"].split(" ")[0],
            "history": summary(history),
            "agents": summary(agents),
        }
    )


def summary(response: Any) -> dict[str, Any]:
    parsed = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": len(parsed) if isinstance(parsed, list) else None,
        "content": response.content.decode("utf-8", "replace")[:500],
    }


if __name__ == "__main__":
    main(*sys.argv[1:5])
