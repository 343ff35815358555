"""Custom job types and custom jobs with PyPI `keyfactor-v-1-client` 1.0.3 (Command v10 spec).

    python custom_v1.py <server_url> job-types [--query Q]
    python custom_v1.py <server_url> create-job-type --name N [--description D] [--fields JSON]
    python custom_v1.py <server_url> schedule --agent-id GUID --job-type N [--fields JSON] [--interval-minutes M]

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import emit
from _custom import argument_parser, parsed
from keyfactor_v1 import REQUESTED_WITH, make_client, or_unset
from keyfactor_v_1_client import AuthenticatedClient
from keyfactor_v_1_client.api.custom_job_type import custom_job_type_create_job_type, custom_job_type_get_job_types
from keyfactor_v_1_client.api.orchestrator_job import orchestrator_job_schedule_job
from keyfactor_v_1_client.models.models_orchestrator_jobs_job_type_create_request import (
    ModelsOrchestratorJobsJobTypeCreateRequest as JobTypeCreateRequest,
)
from keyfactor_v_1_client.models.models_orchestrator_jobs_schedule_job_request import (
    ModelsOrchestratorJobsScheduleJobRequest as ScheduleJobRequest,
)


def job_types(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = custom_job_type_get_job_types.sync_detailed(
        client=client, pq_query_string=or_unset(args.query), x_keyfactor_requested_with=REQUESTED_WITH
    )
    items = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": None if items is None else [parsed(item) for item in items],
    }


def create_job_type(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    fields = [
        {"Name": f["name"], "Type": f["type"], "DefaultValue": f.get("default"), "Required": f.get("required", False)}
        for f in args.fields
    ]
    request = {"JobTypeName": args.name, "Description": args.description, "JobTypeFields": fields}
    body = JobTypeCreateRequest.from_dict(request)
    response = custom_job_type_create_job_type.sync_detailed(
        client=client, json_body=body, x_keyfactor_requested_with=REQUESTED_WITH
    )
    return {"status_code": int(response.status_code), "parsed": parsed(response.parsed)}


def schedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    when = {"Interval": {"Minutes": args.interval_minutes}} if args.interval_minutes else {"Immediate": True}
    body = ScheduleJobRequest.from_dict(
        {"AgentId": args.agent_id, "JobTypeName": args.job_type, "Schedule": when, "JobFields": args.fields}
    )
    response = orchestrator_job_schedule_job.sync_detailed(
        client=client, json_body=body, x_keyfactor_requested_with=REQUESTED_WITH
    )
    return {"status_code": int(response.status_code), "parsed": parsed(response.parsed)}


COMMANDS = {"job-types": job_types, "create-job-type": create_job_type, "schedule": schedule}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    emit(COMMANDS[args.command](make_client(args.server_url), args))


if __name__ == "__main__":
    main()
