"""Helpers shared by the client scripts. These scripts run in the clients' own virtualenv
(`.venv-clients`, Python 3.11, old httpx), never in the project's, so they import nothing from
orchjobs or tests: they only drive a published client and print one JSON document on stdout.

The document is client-agnostic, so that one test can assert on either client's output:
each parsed model attribute is reported as {"kind": ..., "value": ...}, where kind says what the
client turned the wire value into ("datetime", "int-enum", "str", "int", "bool", "none",
"unset", "model", ...), and value is a JSON-able rendering of it.
"""

import argparse
import base64
import datetime
import enum
import json
import sys
from typing import Any

USERNAME = "admin"
PASSWORD = "admin-password"
TIMEOUT_SECONDS = 30.0


def basic_token(username: str = USERNAME, password: str = PASSWORD) -> str:
    """The credential part of `Authorization: Basic …`, as Keyfactor's own wrappers build it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def api_base_url(server_url: str) -> str:
    """Both clients expect the caller to include Command's /KeyfactorAPI prefix in base_url."""
    return server_url.rstrip("/") + "/KeyfactorAPI"


def is_unset(value: Any) -> bool:
    # Each client has its own Unset class; match by name so this module works for both.
    return type(value).__name__ == "Unset"


def kind_of(value: Any) -> str:
    if is_unset(value):
        return "unset"
    if value is None:
        return "none"
    if isinstance(value, datetime.datetime):
        return "datetime"
    if isinstance(value, enum.IntEnum):
        return "int-enum"
    if isinstance(value, bool):
        return "bool"
    for simple in (int, str, float, list, dict):
        if isinstance(value, simple):
            return simple.__name__
    if hasattr(value, "to_dict"):
        return "model"
    return type(value).__name__


def plain(value: Any) -> Any:
    """A JSON-able rendering of a parsed value (datetimes keep their UTC offset)."""
    if is_unset(value) or value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, enum.IntEnum):
        return int(value.value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "to_dict"):
        return {name: plain(item) for name, item in vars_of(value).items()}
    return value


def vars_of(model: Any) -> dict[str, Any]:
    """The generated attributes of an attrs model (both generators use attrs)."""
    import attr

    return {
        field.name.lstrip("_"): getattr(model, field.name)
        for field in attr.fields(type(model))
        if field.name != "additional_properties"
    }


def describe(model: Any) -> dict[str, Any]:
    """Every generated attribute of a parsed model as {"kind", "value"}."""
    return {name: {"kind": kind_of(value), "value": plain(value)} for name, value in vars_of(model).items()}


def describe_history_item(item: Any) -> dict[str, Any]:
    """A parsed JobHistoryResponse: its attributes, its schedule, and any keys the model did not know."""
    described = describe(item)
    described["schedule_detail"] = describe_schedule(item.schedule)
    extra = getattr(item, "additional_properties", None)
    described["additional_keys"] = sorted(extra) if isinstance(extra, dict) else None
    return described


def describe_schedule(schedule: Any) -> dict[str, Any]:
    if is_unset(schedule) or schedule is None:
        return {"kind": kind_of(schedule)}
    interval = schedule.interval
    return {
        "kind": kind_of(schedule),
        "immediate": plain(schedule.immediate),
        "interval_minutes": None if is_unset(interval) else plain(interval.minutes),
    }


def emit(document: Any) -> None:
    json.dump(document, sys.stdout)
    sys.stdout.write("\n")


def argument_parser(description: str) -> argparse.ArgumentParser:
    """`<script> <server_url> history|acknowledge|result-data|agents|approve …`, the same for both clients."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("server_url", help="e.g. http://127.0.0.1:8080 (without /KeyfactorAPI)")
    commands = parser.add_subparsers(dest="command", required=True)

    history = commands.add_parser("history", help="GET /OrchestratorJobs/JobHistory")
    history.add_argument("--query")
    history.add_argument("--page", type=int)
    history.add_argument("--limit", type=int)
    history.add_argument("--sort-field")
    history.add_argument("--sort-ascending", type=int, choices=(0, 1), help="0 ascending, 1 descending")

    acknowledge = commands.add_parser("acknowledge", help="POST /OrchestratorJobs/Acknowledge")
    selection = acknowledge.add_mutually_exclusive_group(required=True)
    selection.add_argument("--ids", type=int, nargs="+")
    selection.add_argument("--query")

    result_data = commands.add_parser("result-data", help="GET /OrchestratorJobs/JobStatus/Data")
    result_data.add_argument("--id", type=int, required=True)

    agents = commands.add_parser("agents", help="GET /Agents")
    agents.add_argument("--query")
    agents.add_argument("--page", type=int)
    agents.add_argument("--limit", type=int)
    agents.add_argument("--sort-field")
    agents.add_argument("--sort-ascending", type=int, choices=(0, 1), help="0 ascending, 1 descending")

    approve = commands.add_parser("approve", help="POST /Agents/Approve")
    approve.add_argument("--ids", nargs="+", required=True, help="orchestrator GUIDs")
    return parser


def response_summary(response: Any) -> dict[str, Any]:
    """Status and raw body of a `Response` from either client's `sync_detailed`."""
    return {"status_code": int(response.status_code), "content": response.content.decode("utf-8", "replace")}
