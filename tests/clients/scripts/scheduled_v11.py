"""Scheduled jobs, Reschedule and Unschedule with PyPI `keyfactor-command-sdk` 11.0.0a1 (Command 11 spec).

    python scheduled_v11.py <server_url> scheduled-jobs [--query Q] [--page N] [--limit N]
                                                         [--sort-field F] [--sort-ascending 0|1]
    python scheduled_v11.py <server_url> reschedule (--ids ID … | --query Q)
    python scheduled_v11.py <server_url> unschedule (--ids GUID … | --query Q)

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import emit, response_summary
from _scheduled import argument_parser, describe_job
from command_v11 import SortOrder, make_client, or_unset
from command_v11_client.api.orchestrator_job import (
    get_orchestrator_jobs_scheduled_jobs,
    post_orchestrator_jobs_reschedule,
    post_orchestrator_jobs_unschedule,
)
from command_v11_client.client import AuthenticatedClient
from command_v11_client.models.keyfactor_web_keyfactor_api_models_orchestrator_jobs_reschedule_job_request import (  # noqa: E501
    KeyfactorWebKeyfactorApiModelsOrchestratorJobsRescheduleJobRequest as RescheduleJobRequest,
)
from command_v11_client.models.keyfactor_web_keyfactor_api_models_orchestrator_jobs_unschedule_job_request import (  # noqa: E501
    KeyfactorWebKeyfactorApiModelsOrchestratorJobsUnscheduleJobRequest as UnscheduleJobRequest,
)
from command_v11_client.types import UNSET


def scheduled_jobs(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_orchestrator_jobs_scheduled_jobs.sync_detailed(
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
        "items": None if items is None else [describe_job(item) for item in items],
    }


def reschedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = RescheduleJobRequest(job_audit_ids=or_unset(args.ids), query=or_unset(args.query))
    response = post_orchestrator_jobs_reschedule.sync_detailed(client=client, json_body=body)
    return {**response_summary(response), "sent": body.to_dict()}


def unschedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = UnscheduleJobRequest(job_ids=or_unset(args.ids), query=or_unset(args.query))
    response = post_orchestrator_jobs_unschedule.sync_detailed(client=client, json_body=body)
    return {**response_summary(response), "sent": body.to_dict()}


COMMANDS = {"scheduled-jobs": scheduled_jobs, "reschedule": reschedule, "unschedule": unschedule}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    with make_client(args.server_url) as client:
        emit(COMMANDS[args.command](client, args))


if __name__ == "__main__":
    main()
