"""The query compiler against a real database (SQLite and, when configured, PostgreSQL): which
job_history rows each query selects, and which queries it refuses."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from orchjobs.errors import InvalidSortFieldError, QuerySyntaxError
from orchjobs.query import JOB_HISTORY_FIELDS, FieldKind, FieldRegistry, QueryField, compile_where, parse
from orchjobs.store.tables import job_history

FIXED_NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
AGENT_A = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
AGENT_B = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
JOB_1 = uuid.UUID("00000000-0000-0000-0000-000000000001")


def _row(row_id: int, **values: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "id": row_id,
        "job_id": uuid.UUID(int=1000 + row_id),
        "agent_id": AGENT_A,
        "client_machine": "web01.example.com",
        "job_type": "Inventory",
        "operation_start": FIXED_NOW,
        "result": 2,
        "status": 3,
        "message": None,
        "target_path": None,
        "schedule_type": None,
        "operation_end": None,
        "acknowledged_by": None,
        "acknowledged_at": None,
    }
    return defaults | values


ROWS = [
    _row(
        1,
        job_id=JOB_1,
        job_type="WinCertInventory",
        message="Inventory complete",
        target_path="C:\\certs",
        schedule_type="I_60",
        operation_start=datetime(2025, 6, 15, 8, 0, tzinfo=UTC),
        operation_end=datetime(2025, 6, 15, 8, 1, tzinfo=UTC),
    ),
    _row(
        2,
        client_machine="WEB02.example.com",
        job_type="WinCertManagement",
        result=4,
        status=3,
        message="Connection TIMEOUT after 30s",
        target_path="/etc/ssl/100%_done",
        operation_start=datetime(2025, 6, 14, 23, 59, 59, tzinfo=UTC),
    ),
    _row(
        3,
        agent_id=AGENT_B,
        client_machine="db01",
        job_type="PemInventory",
        result=4,
        status=5,
        message="timeout",
        target_path="/etc/ssl/100x-done",
        schedule_type="D_",
        operation_start=datetime(2025, 6, 14, 0, 0, tzinfo=UTC),
    ),
    _row(
        4,
        agent_id=AGENT_B,
        client_machine="db02",
        job_type="Reenrollment",
        result=3,
        status=4,
        acknowledged_by="admin",
        acknowledged_at=datetime(2025, 6, 2, 9, 0, tzinfo=UTC),
        operation_start=datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
    ),
    _row(
        5,
        client_machine="app01",
        job_type="Management",
        result=0,
        status=2,
        message='say "hi" it\'s 5_0',
        operation_start=datetime(2025, 6, 16, 0, 0, tzinfo=UTC),
    ),
]


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(insert(job_history), ROWS)
    return engine


def selected(engine: Engine, query: str, *, user: str | None = None) -> set[int]:
    condition = compile_where(parse(query), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW, user=user)
    with engine.connect() as conn:
        return set(conn.scalars(select(job_history.c.id).where(condition)))


def mismatches(engine: Engine, cases: list[tuple[str, set[int]]], *, user: str | None = None) -> list[str]:
    """One database per group of cases keeps the suite fast; report every wrong case at once."""
    wrong = []
    for query, expected in cases:
        actual = selected(engine, query, user=user)
        if actual != expected:
            wrong.append(f"{query!r}: expected {sorted(expected)}, got {sorted(actual)}")
    return wrong


TEXT_CASES = [
    ('Message -contains "TIMEOUT"', {2, 3}),
    ('message -CONTAINS "Timeout"', {2, 3}),
    ('Message -eq "TIMEOUT"', {3}),
    ("Message -eq timeout", {3}),
    ("Agent -eq WEB02.EXAMPLE.COM", {2}),
    ("ClientMachine -startswith WEB", {1, 2}),
    ("AgentMachine -endswith .COM", {1, 2}),
    ('JobType -notcontains "inventory"', {2, 4, 5}),
    ('Message -ne "timeout"', {1, 2, 4, 5}),  # 4 has no message: -ne matches NULL
    ('Message -notcontains "time"', {1, 4, 5}),
    ('Message -eq "say ""hi"" it\'s 5_0"', {5}),
    ("Message -eq 'say \"hi\" it''s 5_0'", {5}),
    ('Message -contains ""', {1, 2, 3, 5}),
    ('StorePath -eq "C:\\certs"', {1}),
    # LIKE wildcards in values are literal characters
    ('TargetPath -contains "100%_"', {2}),
    ('TargetPath -contains "%"', {2}),
    ('TargetPath -endswith "_done"', {2}),
    ('Message -contains "5_0"', {5}),
    ('Message -contains "_"', {5}),
    ('ScheduleType -startswith "I_"', {1}),
    ('TargetPath -contains "/"', {2, 3}),
]


def test_text_fields(loaded: Engine) -> None:
    assert mismatches(loaded, TEXT_CASES) == []


LOGIC_CASES = [
    ("Result -eq 4 OR Result -eq 3 AND Status -eq 4", {2, 3, 4}),
    ("(Result -eq 4 OR Result -eq 3) AND Status -eq 3", {2}),
    ('(Result -eq "4" OR Result -eq "3") AND (Status -eq "3" OR Status -eq "5")', {2, 3}),
    ("Result -eq 4 AND Status -eq 3 OR Status -eq 2", {2, 5}),
    ("NOT Result -eq 4", {1, 4, 5}),
    ("NOT (Result -eq 4 OR Status -eq 2)", {1, 4}),
    ("NOT Result -eq 4 AND Status -eq 3", {1}),
    ("NOT NOT Result -eq 4", {2, 3}),
    # NOT is two-valued: a NULL column makes "NOT Message -eq x" true, as "Message -ne x" is
    ('NOT Message -eq "timeout"', {1, 2, 4, 5}),
    ('NOT Message -contains "time"', {1, 4, 5}),
    ('NOT Message -ne "timeout"', {3}),
    ("NOT OperationEnd -lt 2030-01-01", {2, 3, 4, 5}),
    ("JobHistoryId -ge 2 AND JobHistoryId -lt 4", {2, 3}),
    ("JobHistoryId -ne 3", {1, 2, 4, 5}),
    ("JobHistoryId -le +2", {1, 2}),
]


def test_connectors_and_precedence(loaded: Engine) -> None:
    assert mismatches(loaded, LOGIC_CASES) == []


NULL_CASES = [
    ("Message -eq NULL", {4}),
    ("Message -ne null", {1, 2, 3, 5}),
    ('Message -eq "NULL"', set()),  # quoted: the text NULL
    ("OperationEnd -eq NULL", {2, 3, 4, 5}),
    ("AcknowledgedBy -ne NULL AND AcknowledgedAt -ne NULL", {4}),
    ("ScheduleType -eq NULL", {2, 4, 5}),
    ("JobId -eq NULL", set()),
]


def test_null(loaded: Engine) -> None:
    assert mismatches(loaded, NULL_CASES) == []


ENUM_CASES = [
    ('Result -eq "Failure"', {2, 3}),
    ("Result -eq failed", {2, 3}),
    ("Result -ne Failure", {1, 4, 5}),
    ('Status -eq "CompletedWillRetry"', {3}),
    ("Status -eq completed_will_retry", {3}),
    ("status -eq IN_PROCESS", {5}),
    ("Status -eq 5", {3}),
    ("Result -ge Warning", {2, 3, 4}),
    ("Result -lt 2", {5}),
]


def test_enums(loaded: Engine) -> None:
    assert mismatches(loaded, ENUM_CASES) == []


DATE_CASES = [
    # a date alone is the whole UTC day
    ("OperationStart -eq 2025-06-14", {2, 3}),
    ("OperationStart -ne 2025-06-14", {1, 4, 5}),
    ("OperationStart -lt 2025-06-14", {4}),
    ("OperationStart -le 2025-06-14", {2, 3, 4}),
    ("OperationStart -gt 2025-06-14", {1, 5}),
    ("OperationStart -ge 2025-06-14", {1, 2, 3, 5}),
    ("OperationStart -eq %TODAY%", {1}),
    ("OperationStart -eq %today-1%", {2, 3}),
    ('OperationStart -ge "%TODAY-1%"', {1, 2, 3, 5}),
    ("OperationStart -eq %TODAY+1%", {5}),
    ("OperationStart -lt %TODAY-7%", {4}),
    # a timestamp compares exactly
    ("OperationStart -eq 2025-06-14T00:00:00Z", {3}),
    ('OperationStart -eq "2025-06-14 00:00"', {3}),
    ("OperationStart -eq 2025-06-14T02:00:00+02:00", {3}),
    ("OperationStart -gt 2025-06-14T00:00:00Z", {1, 2, 5}),
    ("OperationStart -lt 2025-06-14T23:59:59Z", {3, 4}),
    ("OperationStart -le 2025-06-14T23:59:59", {2, 3, 4}),
    ("OperationStart -ne 2025-06-15T08:00:00Z", {2, 3, 4, 5}),
    ("OperationEnd -ne 2025-06-15", {2, 3, 4, 5}),
    ("AcknowledgedAt -eq 2025-06-02", {4}),
]


def test_dates(loaded: Engine) -> None:
    assert mismatches(loaded, DATE_CASES) == []


# FIXED_NOW is 2025-06-15 12:00 UTC: %NOW-4h% is 08:00 (row 1 exactly), %NOW-12h% midnight, %NOW-1d% the 14th noon.
RELATIVE_CASES = [
    ("OperationStart -ge %NOW-4h%", {1, 5}),
    ("OperationStart -gt %NOW-4h%", {5}),
    ("OperationStart -eq %now-240m%", {1}),
    ("OperationStart -ge %NOW-43200s%", {1, 5}),
    ("OperationStart -lt %NOW-12h%", {2, 3, 4}),
    ("OperationStart -ge %NOW-1d%", {1, 2, 5}),
    ("OperationStart -lt %NOW-2w%", {4}),
    ("OperationStart -ge %NOW+12h%", {5}),
    ("OperationStart -lt %NOW%", {1, 2, 3, 4}),
    ("OperationStart -eq %TODAY-1d%", {2, 3}),
    ("OperationStart -eq %TODAY-2w%", {4}),
    ("OperationStart -ge %TODAY-1w% AND OperationStart -lt %TODAY%", {2, 3}),
]


def test_relative_times(loaded: Engine) -> None:
    assert mismatches(loaded, RELATIVE_CASES) == []


IN_CASES = [
    ("Result -in (Failure, 3)", {2, 3, 4}),
    ('Result -in ("4")', {2, 3}),
    ("Result -notin (Failure, Warning)", {1, 5}),
    ("Status -in (completedwillretry, 2)", {3, 5}),
    ("JobHistoryId -in (1, 3, 99)", {1, 3}),
    ("JobHistoryId -notin (1, 3)", {2, 4, 5}),
    ("Agent -in (DB01, 'web02.EXAMPLE.com', nowhere)", {2, 3}),
    ("Message -in (TIMEOUT, 'Inventory complete')", {1, 3}),
    ("Message -notin (timeout)", {1, 2, 4, 5}),  # 4 has no message: -notin matches NULL, as -ne does
    ("NOT Message -in (timeout)", {1, 2, 4, 5}),
    ("NOT Message -notin (timeout)", {3}),
    (f"AgentId -in ({AGENT_B}, {uuid.UUID(int=7)})", {3, 4}),
    (f"AgentId -notin ({AGENT_B.hex.upper()})", {1, 2, 5}),
    ("Result -in (Failure) AND Status -notin (5)", {2}),
    ('Message -in ("\'; DROP TABLE job_history; --")', set()),
]


def test_in_lists(loaded: Engine) -> None:
    assert mismatches(loaded, IN_CASES) == []


ME_CASES = [
    ("AcknowledgedBy -eq %ME%", {4}),
    ('AcknowledgedBy -eq "%me%"', {4}),
    ("AcknowledgedBy -ne %ME%", {1, 2, 3, 5}),
    ("AcknowledgedBy -in (%ME%, nobody)", {4}),
    ("AcknowledgedBy -startswith %ME%", {4}),
]


def test_me_is_the_user_who_asks(loaded: Engine) -> None:
    assert mismatches(loaded, ME_CASES, user="ADMIN") == []
    assert selected(loaded, "AcknowledgedBy -eq %ME%", user="someone") == set()


def test_me_without_a_user_is_refused() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_where(
            parse("Result -eq 4 AND AcknowledgedBy -eq %ME%"), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW
        )
    assert raised.value.position == 36
    assert "%ME%" in raised.value.reason


UUID_CASES = [
    (f'AgentId -eq "{AGENT_A}"', {1, 2, 5}),
    (f"AgentId -eq {str(AGENT_B).upper()}", {3, 4}),
    (f"AgentId -ne {AGENT_B.hex}", {1, 2, 5}),
    (f'JobId -eq "{{{JOB_1}}}"', {1}),
    ('JobId -eq "00000000-0000-0000-0000-0000000000ff"', set()),
]


def test_uuids(loaded: Engine) -> None:
    assert mismatches(loaded, UUID_CASES) == []


INJECTIONS = [
    'Message -eq "\'; DROP TABLE job_history; --"',
    "Message -eq '\" OR 1=1 --'",
    "Message -contains \"' OR '1'='1\"",
    "Agent -eq \"x') OR ('a'='a\"",
    "JobType -startswith '%'' OR 1=1 --'",
]


def test_values_are_bound_never_spliced(loaded: Engine) -> None:
    assert mismatches(loaded, [(query, set()) for query in INJECTIONS]) == []
    with loaded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(job_history)) == len(ROWS)


def test_blank_query_selects_everything(loaded: Engine) -> None:
    condition = compile_where(parse("  "), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW)
    with loaded.connect() as conn:
        assert len(conn.scalars(select(job_history.c.id).where(condition)).all()) == len(ROWS)


REFUSED = [
    ("Nope -eq 1", 0, "unknown field 'Nope'"),
    ("Message -lt a", 8, "-lt does not apply to text field Message"),
    ("Status -contains 3", 7, "-contains does not apply to enumeration field Status"),
    ("JobHistoryId -startswith 1", 13, "-startswith does not apply to number field JobHistoryId"),
    ("OperationStart -contains 2025", 15, "-contains does not apply to date field"),
    (f"AgentId -gt {AGENT_A}", 8, "-gt does not apply to identifier field AgentId"),
    ("JobHistoryId -eq 1.5", 17, "'1.5' is not a whole number"),
    ("JobHistoryId -eq 99999999999999999999", 17, "is not a whole number"),
    ("JobHistoryId -eq abc", 17, "is not a whole number"),
    ("Result -eq Bogus", 11, "'Bogus' is not a value of Result"),
    ("Result -eq 7", 11, "'7' is not a value of Result"),
    ("AgentId -eq not-a-guid", 12, "is not a GUID"),
    ("OperationStart -eq 2025-02-30", 19, "is not a valid date"),
    ("OperationStart -eq 06/14/2025", 19, "is not a valid date"),
    ("OperationStart -eq %TODAY-x%", 19, "is not a valid date"),
    ("OperationStart -eq 9999-12-31", 19, "is not a valid date"),
    ("OperationStart -eq %TODAY-9999999%", 19, "is not a valid date"),
    ("Message -gt NULL", 12, "NULL can only be compared with -eq or -ne"),
    # relative times: a unit that does not exist, none, or a date out of range
    ("OperationStart -ge %NOW-4y%", 19, "the unit 'y' is not one of s, m, h, d, w"),
    ("OperationStart -ge %NOW-4%", 19, "it has no unit"),
    ("OperationStart -ge %TODAY-4h%", 19, "the unit 'h' is not one of d, w"),
    ("OperationStart -ge %NOW-4M%", 19, "the unit 'M' is not one of"),
    ("OperationStart -ge %NOW+999999999999w%", 19, "outside the years 1 to 9999"),
    ("OperationStart -ge %NOW-9999999999999999%", 19, "it has no unit"),
    ("OperationStart -ge %NOW-99999999999999999s%", 19, "outside the years 1 to 9999"),
    ("OperationStart -ge %TODAY+9999999d%", 19, "outside the years 1 to 9999"),
    # -in: values of another kind than the field's, at the value; not on dates
    ('Result -in (Failure, "abc")', 21, "'abc' is not a value of Result"),
    ('JobHistoryId -in (1, "x")', 21, "'x' is not a whole number"),
    ("AgentId -in (not-a-guid)", 13, "is not a GUID"),
    ("OperationStart -in (2025-06-14)", 15, "-in does not apply to date field"),
    ("JobHistoryId -notin (1, 99999999999999999999)", 24, "is not a whole number"),
    ("Result -eq 4 AND (Status -eq 3 OR Nope -eq 1)", 34, "unknown field"),
]


@pytest.mark.parametrize(("query", "position", "message"), REFUSED)
def test_refuses(query: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_where(parse(query), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW)
    assert raised.value.position == position
    assert message in raised.value.reason


def test_unknown_field_lists_the_fields() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_where(parse("Nope -eq 1"), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW)
    assert raised.value.expected is not None
    assert "JobHistoryId" in raised.value.expected and "AcknowledgedAt" in raised.value.expected


def test_bad_enum_value_lists_the_names() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_where(parse("Status -eq Done"), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW)
    assert "CompletedWillRetry (5)" in (raised.value.expected or "")


def test_bad_date_names_the_formats() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_where(parse("OperationStart -eq yesterday"), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW)
    assert "2025-01-01T10:00:00Z" in (raised.value.expected or "")
    assert "%TODAY-N%" in (raised.value.expected or "")


def test_sort_column_names() -> None:
    assert JOB_HISTORY_FIELDS.sort_column_name("operationstart") == "operation_start"
    assert JOB_HISTORY_FIELDS.sort_column_name("StorePath") == "target_path"
    with pytest.raises(InvalidSortFieldError):
        JOB_HISTORY_FIELDS.sort_column_name("Nope")


def test_registry_refuses_a_name_declared_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        FieldRegistry(
            "Thing",
            [
                QueryField("Name", "name", FieldKind.STRING),
                QueryField("Label", "label", FieldKind.STRING, aliases=("NAME",)),
            ],
        )


OR_OF_EQUALITIES = [
    ("Result -eq 3 OR Result -eq 4", "Result -in (3, 4)"),
    ("Result -eq Warning OR Status -eq 4 OR Result -eq Failure", "Result -in (Warning, Failure) OR Status -eq 4"),
    (
        'Agent -eq "web01.EXAMPLE.com" OR ClientMachine -eq WEB02.example.com',
        "Agent -in (web01.example.com, web02.example.com)",
    ),
    ("NOT (Message -eq timeout OR Message -eq x)", "NOT Message -in (timeout, x)"),
    ("Message -eq timeout OR Message -eq NULL OR Message -eq x", "Message -in (timeout, x) OR Message -eq NULL"),
    (f"AgentId -eq {AGENT_A} OR AgentId -eq {AGENT_B}", f"AgentId -in ({AGENT_A}, {AGENT_B})"),
    ("AcknowledgedBy -eq %ME% OR AcknowledgedBy -eq nobody", "AcknowledgedBy -in (%ME%, nobody)"),
]


@pytest.mark.parametrize(("ors", "listed"), OR_OF_EQUALITIES)
def test_an_or_of_equalities_is_one_in(loaded: Engine, ors: str, listed: str) -> None:
    """Compiled as IN (which the planner serves from an index, issue 13), selecting exactly the same rows."""
    condition = compile_where(parse(ors), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW, user="admin")
    assert " IN " in str(condition).upper()
    assert selected(loaded, ors, user="admin") == selected(loaded, listed, user="admin")
    negated = f"NOT ({ors})"
    assert selected(loaded, negated, user="admin") == selected(loaded, f"NOT ({listed})", user="admin")


def test_an_or_of_equalities_refuses_a_bad_value_where_it_is() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_where(parse("Result -eq 3 OR Result -eq bogus"), JOB_HISTORY_FIELDS, job_history.c, now=FIXED_NOW)
    assert raised.value.position == 27
    assert "'bogus' is not a value of Result" in str(raised.value)
