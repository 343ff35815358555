"""What the custom-job scripts share: their command line. Like `_common`, this runs in the clients' own virtualenv and
imports nothing from orchjobs or tests."""

import argparse
import json
from typing import Any

from _common import describe


def argument_parser(description: str) -> argparse.ArgumentParser:
    """`<script> <server_url> job-types|create-job-type|schedule …`, the same for both clients."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("server_url", help="e.g. http://127.0.0.1:8080 (without /KeyfactorAPI)")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("job-types", help="GET /JobTypes/Custom")
    listing.add_argument("--query")

    create = commands.add_parser("create-job-type", help="POST /JobTypes/Custom")
    create.add_argument("--name", required=True)
    create.add_argument("--description")
    create.add_argument("--fields", type=json.loads, default=[], help="JSON: [{name, type, default, required}]")

    schedule = commands.add_parser("schedule", help="POST /OrchestratorJobs/Custom")
    schedule.add_argument("--agent-id", required=True)
    schedule.add_argument("--job-type", required=True)
    schedule.add_argument("--fields", type=json.loads, default={}, help="JSON object of JobFields")
    schedule.add_argument("--interval-minutes", type=int, help="an Interval schedule (else Immediate)")
    return parser


def parsed(model: Any) -> Any:
    """A parsed model: what the client serializes it into again, and the Python types of its attributes."""
    if model is None:
        return None
    return {"as_dict": model.to_dict(), "attributes": describe(model)}
