"""Drive orchjobs with PyPI `keyfactor-command-sdk` 11.0.0a1 (`command_v11_client`, Command 11 spec).

This client sends unprefixed list parameters (`QueryString`, `ReturnLimit`, …), camelCase request
bodies, and forces `X-Keyfactor-Requested-With: APIClient` on its httpx client; it lower-cases the
first letter of each response key before parsing, so PascalCase responses parse.

    python command_v11.py <server_url> history [--query Q] [--page N] [--limit N]
                                               [--sort-field F] [--sort-ascending 0|1]
    python command_v11.py <server_url> acknowledge (--ids ID … | --query Q)
    python command_v11.py <server_url> result-data --id ID
    python command_v11.py <server_url> agents [--query Q] [--page N] [--limit N]
                                              [--sort-field F] [--sort-ascending 0|1]
    python command_v11.py <server_url> approve --ids GUID …

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

import httpx
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
from command_v11_client.api.agent import get_agents, post_agents_approve
from command_v11_client.api.orchestrator_job import (
    get_orchestrator_jobs_job_history,
    get_orchestrator_jobs_job_status_data,
    post_orchestrator_jobs_acknowledge,
)
from command_v11_client.client import AuthenticatedClient
from command_v11_client.models.keyfactor_common_queryable_extensions_sort_order import (
    KeyfactorCommonQueryableExtensionsSortOrder as SortOrder,
)
from command_v11_client.models.keyfactor_web_keyfactor_api_models_orchestrator_jobs_acknowledge_job_request import (  # noqa: E501
    KeyfactorWebKeyfactorApiModelsOrchestratorJobsAcknowledgeJobRequest as AcknowledgeJobRequest,
)
from command_v11_client.types import UNSET


def make_client(server_url: str) -> AuthenticatedClient:
    # raise_on_unexpected_status: a 400/404/500 from us becomes an exception, not a silent None.
    return AuthenticatedClient(
        base_url=api_base_url(server_url),
        token=basic_token(),
        prefix="Basic",
        timeout=httpx.Timeout(TIMEOUT_SECONDS),
        raise_on_unexpected_status=True,
    )


def or_unset(value: Any) -> Any:
    return UNSET if value is None else value


def job_history(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_orchestrator_jobs_job_history.sync_detailed(
        client=client,
        query_string=or_unset(args.query),
        page_returned=or_unset(args.page),
        return_limit=or_unset(args.limit),
        sort_field=or_unset(args.sort_field),
        sort_ascending=UNSET if args.sort_ascending is None else SortOrder(args.sort_ascending),
    )
    items = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": None if items is None else [describe_history_item(item) for item in items],
    }


def acknowledge(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = AcknowledgeJobRequest(job_audit_ids=or_unset(args.ids), query=or_unset(args.query))
    response = post_orchestrator_jobs_acknowledge.sync_detailed(client=client, json_body=body)
    return {**response_summary(response), "sent": body.to_dict()}


def result_data(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_orchestrator_jobs_job_status_data.sync_detailed(client=client, job_history_id=args.id)
    parsed = response.parsed
    return {"status_code": int(response.status_code), "parsed": None if parsed is None else describe(parsed)}


def agents(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_agents.sync_detailed(
        client=client,
        query_string=or_unset(args.query),
        page_returned=or_unset(args.page),
        return_limit=or_unset(args.limit),
        sort_field=or_unset(args.sort_field),
        sort_ascending=UNSET if args.sort_ascending is None else SortOrder(args.sort_ascending),
    )
    items = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": None if items is None else [describe(item) for item in items],
    }


def approve(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = post_agents_approve.sync_detailed(client=client, json_body=args.ids)
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
    with make_client(args.server_url) as client:
        emit(COMMANDS[args.command](client, args))


if __name__ == "__main__":
    main()
