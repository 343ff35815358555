"""Keyfactor's published Python clients against a real orchjobs process, over a real socket.

Each test runs once per client and once per database backend:

* `keyfactor-v-1-client` 1.0.3 (Command v10 spec): `pq.*` list parameters, PascalCase bodies,
  exact PascalCase response keys, crashes on nulls it does not expect.
* `keyfactor-command-sdk` 11.0.0a1 (Command v11 spec): unprefixed list parameters, camelCase bodies,
  first-letter-lower-cased response keys, raises on undocumented status codes (we turn that on).

Rows are arranged straight in the database; the clients' generated API functions make the calls
(scripts/, run in `.venv-clients`); the tests assert on what the clients parsed and on the database.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from orchjobs.store.tables import agent, agent_capability
from tests.clients.conftest import ClientScripts
from tests.factories import BASE_TIME, JOB_ID, add_history, add_result_data, history_row, history_state

WEB = "web-prd-01.corp.example.com"
DB = "db-prd-02.corp.example.com"
ACKNOWLEDGED = 4


@dataclass(frozen=True)
class PublishedClient:
    script: str
    ids_key: str  # how the client spells AcknowledgeJobRequest.JobAuditIds on the wire
    query_key: str


V1 = PublishedClient("keyfactor_v1.py", ids_key="JobAuditIds", query_key="Query")
V11 = PublishedClient("command_v11.py", ids_key="jobAuditIds", query_key="query")


@pytest.fixture(params=[V1, V11], ids=["keyfactor-v-1-client", "keyfactor-command-sdk"])
def published(request: pytest.FixtureRequest) -> PublishedClient:
    return request.param


def starts_at(minutes: int) -> datetime:
    """OperationStart rising with insertion order, so the default sort (newest first) is id-descending."""
    return BASE_TIME + timedelta(minutes=minutes)


def arrange(engine: Engine, minutes: int, **overrides: Any) -> tuple[int, dict[str, Any]]:
    """Insert one history row; return its id and the full row as inserted."""
    row = history_row(operation_start=starts_at(minutes), **overrides)
    if "operation_end" not in overrides:
        row["operation_end"] = row["operation_start"] + timedelta(seconds=30)
    return add_history(engine, **row), row


def attribute(kind: str, value: Any) -> dict[str, Any]:
    return {"kind": kind, "value": value}


def optional(kind: str, value: Any) -> dict[str, Any]:
    """A field the server omits when the value is absent: the client leaves it unset."""
    return attribute("unset", None) if value is None else attribute(kind, value)


def expected_item(job_history_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """What a client must parse out of our JSON for this row."""
    end = row["operation_end"]
    return {
        "job_history_id": attribute("int", job_history_id),
        "agent_machine": attribute("str", row["client_machine"]),
        "job_id": attribute("str", str(row["job_id"])),
        "job_type": attribute("str", row["job_type"]),
        "operation_start": attribute("datetime", row["operation_start"].isoformat()),
        "operation_end": optional("datetime", end.isoformat() if end else None),
        "message": optional("str", row["message"]),
        "result": attribute("int-enum", row["result"]),
        "status": attribute("int-enum", row["status"]),
        "store_path": optional("str", row["target_path"]),
        "client_machine": attribute("str", row["client_machine"]),
    }


PARSED_FIELDS = (
    "job_history_id", "agent_machine", "job_id", "job_type", "operation_start", "operation_end",
    "message", "result", "status", "store_path", "client_machine",
)  # fmt: skip


def parsed_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in PARSED_FIELDS}


def history(scripts: ClientScripts, published: PublishedClient, **params: str | int) -> list[dict[str, Any]]:
    args: list[str | int] = ["history"]
    for name, value in params.items():
        args += [f"--{name.replace('_', '-')}", value]
    output = scripts.run(published.script, *args)
    assert output["status_code"] == 200, output
    items: list[dict[str, Any]] = output["items"]
    return items


def acknowledge(scripts: ClientScripts, published: PublishedClient, *selection: str | int) -> dict[str, Any]:
    output: dict[str, Any] = scripts.run(published.script, "acknowledge", *selection)
    return output


def test_job_history_and_job_data_parse_into_the_clients_models(
    published: PublishedClient, client_scripts: ClientScripts, engine: Engine
) -> None:
    """JobHistory: every field of a failed, a warning, a successful and an in-process run (no
    OperationEnd, no Message) parses into the client's model with the right type; the query, sort
    field, sort order, page size and page the client sends are all honoured.
    JobStatus/Data?jobHistoryId=… as the client spells it: uploaded data comes back whole, and a
    run without data gives an empty string."""
    failed = arrange(engine, 0, result=4, status=3, message="Inventory failed: connection refused")
    warning = arrange(engine, 1, result=3, status=5, job_type="Management", schedule=None, target_path=None)
    success = arrange(engine, 2, result=2, status=3)
    in_process = arrange(engine, 3, result=0, status=2, operation_end=None, message=None)
    arrange(engine, 4, result=2, status=3, client_machine=DB)
    ours = [failed, warning, success, in_process]
    query = f'Agent -eq "{WEB}"'

    items = history(client_scripts, published, query=query, sort_field="JobHistoryId", sort_ascending=0)

    assert [parsed_fields(item) for item in items] == [expected_item(*arranged) for arranged in ours]
    assert [item["schedule_detail"]["interval_minutes"] for item in items] == [60, None, 60, 60]
    assert items[1]["schedule_detail"] == {"kind": "model", "immediate": True, "interval_minutes": None}
    assert all(item["job_id"]["value"] == str(JOB_ID) for item in items)

    second_page = history(
        client_scripts, published, query=query, sort_field="JobHistoryId", sort_ascending=0, limit=2, page=2
    )
    assert [item["job_history_id"]["value"] for item in second_page] == [success[0], in_process[0]]

    newest_first = history(client_scripts, published, query=query, sort_field="OperationStart", sort_ascending=1)
    assert [item["job_history_id"]["value"] for item in newest_first] == [
        in_process[0], success[0], warning[0], failed[0]
    ]  # fmt: skip

    logs = '2026-11-20 12:00:01 INFO started\n2026-11-20 12:00:02 ERROR "quoted" é ✓\n'
    add_result_data(engine, failed[0], logs)
    uploaded = client_scripts.run(published.script, "result-data", "--id", failed[0])
    empty = client_scripts.run(published.script, "result-data", "--id", success[0])
    assert uploaded == {
        "status_code": 200,
        "parsed": {"job_history_id": attribute("int", failed[0]), "data": attribute("str", logs)},
    }
    assert empty["status_code"] == 200
    assert empty["parsed"]["data"] == attribute("str", "")


def test_acknowledge_by_ids_and_by_query(
    published: PublishedClient, client_scripts: ClientScripts, engine: Engine
) -> None:
    """The client's AcknowledgeJobRequest, by JobAuditIds and then by Query, gets 204 and acknowledges
    exactly the failed and warning runs it named or matched; no other row changes."""
    web_failed, _ = arrange(engine, 0, result=4, status=3)
    web_warning_retry, _ = arrange(engine, 1, result=3, status=5)
    web_warning_unnamed, _ = arrange(engine, 2, result=3, status=3)
    arrange(engine, 3, result=2, status=3)
    db_failed, _ = arrange(engine, 4, result=4, status=3, client_machine=DB)
    db_warning, _ = arrange(engine, 5, result=3, status=3, client_machine=DB)
    arrange(engine, 6, result=2, status=3, client_machine=DB)
    arrange(engine, 7, result=0, status=2, operation_end=None, client_machine=DB)
    before = history_state(engine)

    by_ids = acknowledge(client_scripts, published, "--ids", web_failed, web_warning_retry)
    by_query = acknowledge(client_scripts, published, "--query", f'Agent -eq "{DB}"')

    assert by_ids == {
        "status_code": 204,
        "content": "",
        "sent": {published.ids_key: [web_failed, web_warning_retry]},
    }
    assert by_query == {"status_code": 204, "content": "", "sent": {published.query_key: f'Agent -eq "{DB}"'}}
    acknowledged = {web_failed, web_warning_retry, db_failed, db_warning}
    after = history_state(engine)
    for job_history_id in acknowledged:
        status, result, _by, _before = before[job_history_id]
        assert after[job_history_id] == (ACKNOWLEDGED, result, "admin", status)
    assert {key: value for key, value in after.items() if key not in acknowledged} == {
        key: value for key, value in before.items() if key not in acknowledged
    }
    assert before[web_warning_unnamed] == after[web_warning_unnamed]

    listed = history(client_scripts, published, query="Status -eq 4", sort_field="JobHistoryId", sort_ascending=0)
    assert [(item["job_history_id"]["value"], item["status"]) for item in listed] == [
        (job_history_id, attribute("int-enum", ACKNOWLEDGED)) for job_history_id in sorted(acknowledged)
    ]


NEW_AGENT = uuid.UUID("5c1e7a0b-3d2f-4a6b-9c8d-7e6f5a4b3c2d")
BARE_AGENT = uuid.UUID("a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d")


def add_agent(engine: Engine, agent_id: uuid.UUID, capabilities: list[str], **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, **values))
        if capabilities:
            conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in capabilities])


def agents(scripts: ClientScripts, published: PublishedClient, **params: str | int) -> list[dict[str, Any]]:
    args: list[str | int] = ["agents"]
    for name, value in params.items():
        args += [f"--{name.replace('_', '-')}", value]
    output = scripts.run(published.script, *args)
    assert output["status_code"] == 200, output
    items: list[dict[str, Any]] = output["items"]
    return items


def test_agents_parse_into_the_clients_models_and_approve(
    published: PublishedClient, client_scripts: ClientScripts, engine: Engine
) -> None:
    """GET /Agents: an agent with every field and one with only the required ones parse into the
    client's AgentResponse (AgentPlatform and Status as the client's enums, LastSeen as a datetime,
    AuthCertificateReenrollment as a string, absent fields unset); kfutil's `ClientMachine -eq` query and
    the client's sort parameters are honoured. POST /Agents/Approve with the client's array body: 204,
    and the agent is approved."""
    seen = BASE_TIME + timedelta(microseconds=250000)
    add_agent(
        engine,
        NEW_AGENT,
        ["LOGS", "CertStores.PEM.Inventory"],
        client_machine=WEB,
        username="CORP\\svc-web",
        platform=7,
        version="10.4.1.0",
        status=1,
        last_seen=seen,
        thumbprint="AB12CD34",
        legacy_thumbprint="0011FF",
        auth_certificate_reenrollment=2,
        last_error_code=-2147483648,
        last_error_message="The certificate has expired.",
        blueprint="web-servers",
    )
    add_agent(engine, BARE_AGENT, [], client_machine=DB, username="svc-db", platform=0, version="", status=2,
              last_seen=BASE_TIME)  # fmt: skip

    both = agents(client_scripts, published, sort_field="ClientMachine", sort_ascending=1)

    assert [item["agent_id"]["value"] for item in both] == [str(NEW_AGENT), str(BARE_AGENT)]
    full, bare = both
    assert full == {
        "agent_id": attribute("str", str(NEW_AGENT)),
        "client_machine": attribute("str", WEB),
        "username": attribute("str", "CORP\\svc-web"),
        "agent_platform": attribute("int-enum", 7),
        "version": attribute("str", "10.4.1.0"),
        "status": attribute("int-enum", 1),
        "last_seen": attribute("datetime", seen.isoformat()),
        "capabilities": attribute("list", ["CertStores.PEM.Inventory", "LOGS"]),
        "blueprint": attribute("str", "web-servers"),
        "thumbprint": attribute("str", "AB12CD34"),
        "legacy_thumbprint": attribute("str", "0011FF"),
        "auth_certificate_reenrollment": attribute("str", "2"),
        "last_thumbprint_used": attribute("unset", None),
        "last_error_code": attribute("int", -2147483648),
        "last_error_message": attribute("str", "The certificate has expired."),
    }
    assert bare["status"] == attribute("int-enum", 2) and bare["agent_platform"] == attribute("int-enum", 0)
    assert bare["capabilities"] == attribute("list", [])
    assert bare["auth_certificate_reenrollment"] == attribute("str", "0")
    unset = ("blueprint", "thumbprint", "legacy_thumbprint", "last_error_code", "last_error_message")
    assert all(bare[name] == attribute("unset", None) for name in unset)

    found = agents(client_scripts, published, query=f'ClientMachine -eq "{WEB}"')
    assert [item["agent_id"]["value"] for item in found] == [str(NEW_AGENT)]

    approved = client_scripts.run(published.script, "approve", "--ids", str(NEW_AGENT))

    assert approved == {"status_code": 204, "content": "", "sent": [str(NEW_AGENT)]}
    with engine.connect() as conn:
        assert conn.execute(select(agent.c.status).where(agent.c.id == NEW_AGENT)).scalar_one() == 2
    logs_capable = agents(client_scripts, published, query='Status -eq 2 AND Capabilities -contains "LOGS"')
    assert [item["agent_id"]["value"] for item in logs_capable] == [str(NEW_AGENT)]
