"""What the scheduled-job scripts share: their command line and how a parsed Job is reported. Like `_common`, this
runs in the clients' own virtualenv and imports nothing from orchjobs or tests."""

import argparse
from typing import Any

from _common import describe, is_unset, kind_of, plain


def argument_parser(description: str) -> argparse.ArgumentParser:
    """`<script> <server_url> scheduled-jobs|reschedule|unschedule …`, the same for both clients."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("server_url", help="e.g. http://127.0.0.1:8080 (without /KeyfactorAPI)")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("scheduled-jobs", help="GET /OrchestratorJobs/ScheduledJobs")
    listing.add_argument("--query")
    listing.add_argument("--page", type=int)
    listing.add_argument("--limit", type=int)
    listing.add_argument("--sort-field")
    listing.add_argument("--sort-ascending", type=int, choices=(0, 1), help="0 ascending, 1 descending")

    reschedule = commands.add_parser("reschedule", help="POST /OrchestratorJobs/Reschedule")
    by = reschedule.add_mutually_exclusive_group(required=True)
    by.add_argument("--ids", type=int, nargs="+", help="JobAuditIds")
    by.add_argument("--query")

    unschedule = commands.add_parser("unschedule", help="POST /OrchestratorJobs/Unschedule")
    by = unschedule.add_mutually_exclusive_group(required=True)
    by.add_argument("--ids", nargs="+", help="scheduled-job GUIDs")
    by.add_argument("--query")
    return parser


def describe_job(item: Any) -> dict[str, Any]:
    """A parsed Job: its attributes, the member its schedule sets, and any keys the model did not know."""
    described = describe(item)
    schedule = item.schedule
    if is_unset(schedule) or schedule is None:
        described["schedule_detail"] = {"kind": kind_of(schedule)}
    else:
        members = {name: plain(getattr(schedule, name)) for name in ("immediate", "interval", "weekly", "monthly")}
        described["schedule_detail"] = {name: value for name, value in members.items() if value is not None}
    extra = getattr(item, "additional_properties", None)
    described["additional_keys"] = sorted(extra) if isinstance(extra, dict) else None
    return described
