"""Application settings (docs/settings.md): each setting's range applies to the single Set and to Command's bulk
PUT /AppSetting, which changes all of its settings or none, and answers the settings as they now are."""

from typing import Any

from starlette.testclient import TestClient

URL = "/KeyfactorAPI/AppSetting"
# Ids the migrations install.
AGE_OUT, HEARTBEAT, RETRIES, RETRY_DELAY, TIMEOUT, AUTO_ACKNOWLEDGE, RETENTION_DAYS, KEEP_RUNS = range(1, 9)


def values(client: TestClient) -> dict[int, str]:
    return {item["Id"]: item["Value"] for item in client.get(URL).json()}


def test_bulk_put_changes_every_setting_and_answers_them(client: TestClient) -> None:
    answer = client.put(
        URL,
        json=[
            {"Id": RETRIES, "Value": "7"},
            {"id": AUTO_ACKNOWLEDGE, "value": True},
            {"Id": str(RETENTION_DAYS), "Value": 90},
        ],
    )

    assert answer.status_code == 200, answer.text
    assert [(item["Id"], item["ShortName"], item["Value"]) for item in answer.json()] == [
        (RETRIES, "JobRetries", "7"),
        (AUTO_ACKNOWLEDGE, "AutoAcknowledgeFailures", "True"),
        (RETENTION_DAYS, "JobHistoryRetentionDays", "90"),
    ]
    assert set(answer.json()[0]) == {"Id", "DisplayName", "ShortName", "Description", "Value", "ValueType"}
    stored = values(client)
    assert (stored[RETRIES], stored[AUTO_ACKNOWLEDGE], stored[RETENTION_DAYS]) == ("7", "True", "90")
    audited = client.get("/KeyfactorAPI/Audit", params={"QueryString": 'Action -eq "SetAppSetting"'}).json()
    assert sorted(entry["Ids"][0] for entry in audited) == [RETRIES, AUTO_ACKNOWLEDGE, RETENTION_DAYS]


def test_a_bad_entry_refuses_the_whole_request_naming_each_bad_entry(client: TestClient) -> None:
    before = values(client)

    answer = client.put(
        URL,
        json=[
            {"Id": RETRIES, "Value": "4"},
            {"Id": 99, "Value": "1"},
            {"Id": RETRIES, "Value": "5"},
            {"Id": HEARTBEAT},
            {"Id": AUTO_ACKNOWLEDGE, "Value": "maybe"},
            {"Id": TIMEOUT, "Value": "soon"},
            {"Id": KEEP_RUNS, "Value": "100001"},
            {"Value": "3"},
        ],
    )

    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["ErrorCode"] == "0xA0110050"
    failed = {str(item["Id"]): item["Reason"] for item in body["FailedOperations"]}
    assert set(failed) == {"99", str(RETRIES), str(HEARTBEAT), str(AUTO_ACKNOWLEDGE), str(TIMEOUT), "entry 8"} | {
        str(KEEP_RUNS)
    }
    assert "not found" in failed["99"] and "twice" in failed[str(RETRIES)]
    assert "Value" in failed[str(HEARTBEAT)] and "true or false" in failed[str(AUTO_ACKNOWLEDGE)]
    assert "from 0 to 100000" in failed[str(KEEP_RUNS)]
    assert values(client) == before
    assert client.get("/KeyfactorAPI/Audit/Count").json() == {"Count": 0}


def test_a_malformed_body_is_400(client: TestClient) -> None:
    bodies: list[Any] = [[], {"Id": 1, "Value": "2"}, [{"Id": 1, "Value": "2"}] * 101, "7"]
    assert [client.put(URL, json=body).status_code for body in bodies] == [400] * len(bodies)


RANGES = {
    "AgentHeartbeatInterval": (1, 1440),
    "JobFailuresAndWarningsAgeOut": (1, 3650),
    "JobRetries": (0, 100),
    "JobRetryDelay": (0, 10080),
    "JobInProcessTimeout": (0, 10080),
    "JobHistoryRetentionDays": (0, 36500),
    "JobHistoryKeepRuns": (0, 100000),
}


def test_the_single_set_keeps_each_setting_in_its_range(client: TestClient) -> None:
    outside: dict[str, list[int]] = {}
    inside: dict[str, list[int]] = {}
    for short_name, (low, high) in RANGES.items():
        refused = [client.put(f"{URL}/{short_name}/Set", json={"Value": str(value)}) for value in (low - 1, high + 1)]
        taken = [client.put(f"{URL}/{short_name}/Set", json={"Value": str(value)}) for value in (low, high)]
        outside[short_name] = [answer.status_code for answer in refused]
        inside[short_name] = [answer.status_code for answer in taken]
        assert f"from {low} to {high}" in refused[0].json()["Message"]

    assert outside == dict.fromkeys(RANGES, [400, 400])
    assert inside == dict.fromkeys(RANGES, [200, 200])
    assert {item["ShortName"]: item["Value"] for item in client.get(URL).json() if item["ShortName"] in RANGES} == {
        short_name: str(high) for short_name, (_low, high) in RANGES.items()
    }
