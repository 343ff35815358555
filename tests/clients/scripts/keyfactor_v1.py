"""Drive orchjobs with PyPI `keyfactor-v-1-client` 1.0.3 (Command v10 spec, openapi-python-client 0.11).

This client sends `pq.*` list parameters, PascalCase request bodies, `x-keyfactor-requested-with:
APIClient` and `x-keyfactor-api-version: 1`, and parses responses with exact PascalCase keys.

    python keyfactor_v1.py <server_url> history [--query Q] [--page N] [--limit N]
                                                [--sort-field F] [--sort-ascending 0|1]
    python keyfactor_v1.py <server_url> acknowledge (--ids ID … | --query Q)
    python keyfactor_v1.py <server_url> result-data --id ID
    python keyfactor_v1.py <server_url> agents [--query Q] [--page N] [--limit N]
                                               [--sort-field F] [--sort-ascending 0|1]
    python keyfactor_v1.py <server_url> approve --ids GUID …

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import (
    TIMEOUT_SECONDS,
    api_base_url,
    argument_parser,
    basic_token,
    describe,
    describe_history_item,
    emit,
    response_summary,
)
from keyfactor_v_1_client import AuthenticatedClient
from keyfactor_v_1_client.api.agent import agent_approve, agent_get_agents
from keyfactor_v_1_client.api.orchestrator_job import (
    orchestrator_job_acknowledge_jobs,
    orchestrator_job_get_custom_job_result_data,
    orchestrator_job_get_job_history,
)
from keyfactor_v_1_client.models.agent_get_agents_pq_sort_ascending import (
    AgentGetAgentsPqSortAscending as AgentSortAscending,
)
from keyfactor_v_1_client.models.keyfactor_api_models_orchestrator_jobs_acknowledge_job_request import (
    KeyfactorApiModelsOrchestratorJobsAcknowledgeJobRequest as AcknowledgeJobRequest,
)
from keyfactor_v_1_client.models.orchestrator_job_get_job_history_pq_sort_ascending import (
    OrchestratorJobGetJobHistoryPqSortAscending as SortAscending,
)
from keyfactor_v_1_client.types import UNSET

REQUESTED_WITH = "APIClient"


def make_client(server_url: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=api_base_url(server_url), token=basic_token(), prefix="Basic", timeout=TIMEOUT_SECONDS
    )


def or_unset(value: Any) -> Any:
    return UNSET if value is None else value


def job_history(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = orchestrator_job_get_job_history.sync_detailed(
        client=client,
        pq_query_string=or_unset(args.query),
        pq_page_returned=or_unset(args.page),
        pq_return_limit=or_unset(args.limit),
        pq_sort_field=or_unset(args.sort_field),
        pq_sort_ascending=UNSET if args.sort_ascending is None else SortAscending(args.sort_ascending),
        x_keyfactor_requested_with=REQUESTED_WITH,
    )
    items = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": None if items is None else [describe_history_item(item) for item in items],
    }


def acknowledge(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = AcknowledgeJobRequest(job_audit_ids=or_unset(args.ids), query=or_unset(args.query))
    response = orchestrator_job_acknowledge_jobs.sync_detailed(
        client=client, json_body=body, x_keyfactor_requested_with=REQUESTED_WITH
    )
    return {**response_summary(response), "sent": body.to_dict()}


def result_data(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = orchestrator_job_get_custom_job_result_data.sync_detailed(
        client=client, job_history_id=args.id, x_keyfactor_requested_with=REQUESTED_WITH
    )
    parsed = response.parsed
    return {"status_code": int(response.status_code), "parsed": None if parsed is None else describe(parsed)}


def agents(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = agent_get_agents.sync_detailed(
        client=client,
        pq_query_string=or_unset(args.query),
        pq_page_returned=or_unset(args.page),
        pq_return_limit=or_unset(args.limit),
        pq_sort_field=or_unset(args.sort_field),
        pq_sort_ascending=UNSET if args.sort_ascending is None else AgentSortAscending(args.sort_ascending),
        x_keyfactor_requested_with=REQUESTED_WITH,
    )
    items = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": None if items is None else [describe(item) for item in items],
    }


def approve(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = agent_approve.sync_detailed(client=client, json_body=args.ids, x_keyfactor_requested_with=REQUESTED_WITH)
    return {**response_summary(response), "sent": args.ids}


COMMANDS = {
    "history": job_history,
    "acknowledge": acknowledge,
    "result-data": result_data,
    "agents": agents,
    "approve": approve,
}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    emit(COMMANDS[args.command](make_client(args.server_url), args))


if __name__ == "__main__":
    main()
