"""Custom job types and custom jobs with PyPI `keyfactor-command-sdk` 11.0.0a1 (Command 11 spec).

    python custom_v11.py <server_url> job-types [--query Q]
    python custom_v11.py <server_url> create-job-type --name N [--description D] [--fields JSON]
    python custom_v11.py <server_url> schedule --agent-id GUID --job-type N [--fields JSON] [--interval-minutes M]

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import emit
from _custom import argument_parser, parsed
from command_v11 import make_client, or_unset
from command_v11_client.api.custom_job_type import get_job_types_custom, post_job_types_custom
from command_v11_client.api.orchestrator_job import post_orchestrator_jobs_custom
from command_v11_client.client import AuthenticatedClient
from command_v11_client.models.csscms_data_model_models_orchestrator_jobs_job_type_create_request import (
    CSSCMSDataModelModelsOrchestratorJobsJobTypeCreateRequest as JobTypeCreateRequest,
)
from command_v11_client.models.csscms_data_model_models_orchestrator_jobs_schedule_job_request import (
    CSSCMSDataModelModelsOrchestratorJobsScheduleJobRequest as ScheduleJobRequest,
)


def job_types(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_job_types_custom.sync_detailed(client=client, query_string=or_unset(args.query))
    items = response.parsed
    return {"status_code": int(response.status_code), "items": None if items is None else [parsed(i) for i in items]}


def create_job_type(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    fields = [
        {"name": f["name"], "type": f["type"], "defaultValue": f.get("default"), "required": f.get("required", False)}
        for f in args.fields
    ]
    request = {"jobTypeName": args.name, "description": args.description, "jobTypeFields": fields}
    response = post_job_types_custom.sync_detailed(client=client, json_body=JobTypeCreateRequest.from_dict(request))
    return {"status_code": int(response.status_code), "parsed": parsed(response.parsed)}


def schedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    when = {"interval": {"minutes": args.interval_minutes}} if args.interval_minutes else {"immediate": True}
    request = {"agentId": args.agent_id, "jobTypeName": args.job_type, "schedule": when, "jobFields": args.fields}
    response = post_orchestrator_jobs_custom.sync_detailed(
        client=client, json_body=ScheduleJobRequest.from_dict(request)
    )
    return {"status_code": int(response.status_code), "parsed": parsed(response.parsed)}


COMMANDS = {"job-types": job_types, "create-job-type": create_job_type, "schedule": schedule}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    with make_client(args.server_url) as client:
        emit(COMMANDS[args.command](client, args))


if __name__ == "__main__":
    main()
