"""Scheduled jobs, Reschedule and Unschedule with PyPI `keyfactor-v-1-client` 1.0.3 (Command v10 spec).

    python scheduled_v1.py <server_url> scheduled-jobs [--query Q] [--page N] [--limit N]
                                                        [--sort-field F] [--sort-ascending 0|1]
    python scheduled_v1.py <server_url> reschedule (--ids ID … | --query Q)
    python scheduled_v1.py <server_url> unschedule (--ids GUID … | --query Q)

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import emit, response_summary
from _scheduled import argument_parser, describe_job
from keyfactor_v1 import REQUESTED_WITH, make_client, or_unset
from keyfactor_v_1_client import AuthenticatedClient
from keyfactor_v_1_client.api.orchestrator_job import (
    orchestrator_job_get_scheduled_jobs,
    orchestrator_job_reschedule_jobs,
    orchestrator_job_unschedule_jobs,
)
from keyfactor_v_1_client.models.keyfactor_api_models_orchestrator_jobs_reschedule_job_request import (
    KeyfactorApiModelsOrchestratorJobsRescheduleJobRequest as RescheduleJobRequest,
)
from keyfactor_v_1_client.models.keyfactor_api_models_orchestrator_jobs_unschedule_job_request import (
    KeyfactorApiModelsOrchestratorJobsUnscheduleJobRequest as UnscheduleJobRequest,
)
from keyfactor_v_1_client.models.orchestrator_job_get_scheduled_jobs_pq_sort_ascending import (
    OrchestratorJobGetScheduledJobsPqSortAscending as SortAscending,
)
from keyfactor_v_1_client.types import UNSET


def scheduled_jobs(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = orchestrator_job_get_scheduled_jobs.sync_detailed(
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
        "items": None if items is None else [describe_job(item) for item in items],
    }


def reschedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = RescheduleJobRequest(job_audit_ids=or_unset(args.ids), query=or_unset(args.query))
    response = orchestrator_job_reschedule_jobs.sync_detailed(
        client=client, json_body=body, x_keyfactor_requested_with=REQUESTED_WITH
    )
    return {**response_summary(response), "sent": body.to_dict()}


def unschedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = UnscheduleJobRequest(job_ids=or_unset(args.ids), query=or_unset(args.query))
    response = orchestrator_job_unschedule_jobs.sync_detailed(
        client=client, json_body=body, x_keyfactor_requested_with=REQUESTED_WITH
    )
    return {**response_summary(response), "sent": body.to_dict()}


COMMANDS = {"scheduled-jobs": scheduled_jobs, "reschedule": reschedule, "unschedule": unschedule}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    emit(COMMANDS[args.command](make_client(args.server_url), args))


if __name__ == "__main__":
    main()
