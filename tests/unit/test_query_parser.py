"""The query parser: what each input becomes, where each malformed input fails, and that no
input makes it raise anything but QuerySyntaxError."""

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from orchjobs.errors import QuerySyntaxError
from orchjobs.query import (
    JOB_HISTORY_FIELDS,
    And,
    Comparison,
    Node,
    Not,
    Or,
    compile_where,
    describe,
    parse,
    to_text,
)
from orchjobs.query.ast import ListValue, Membership
from orchjobs.store.tables import job_history


def eq(field: str, value: str | None, *, quoted: bool = False) -> Comparison:
    return Comparison(field, "-eq", value, quoted)


VALID: list[tuple[str, Node]] = [
    ('Result -eq "4"', eq("Result", "4", quoted=True)),
    ("Result -eq '4'", eq("Result", "4", quoted=True)),
    ("status -eq 2", eq("status", "2")),
    ("Result -EQ Failure", eq("Result", "Failure")),
    ("JobHistoryId -gt -12", Comparison("JobHistoryId", "-gt", "-12")),
    ("OperationStart -ge %TODAY-1%", Comparison("OperationStart", "-ge", "%TODAY-1%")),
    ("Message -eq NULL", eq("Message", None)),
    ("Message -ne null", Comparison("Message", "-ne", None)),
    ('Message -eq "NULL"', eq("Message", "NULL", quoted=True)),
    ('Message -eq ""', eq("Message", "", quoted=True)),
    ('Message -eq "say ""hi"""', eq("Message", 'say "hi"', quoted=True)),
    ("Message -eq 'it''s'", eq("Message", "it's", quoted=True)),
    ("Message -eq 'a \"b\"'", eq("Message", 'a "b"', quoted=True)),
    ('Message -eq "AND OR ( )"', eq("Message", "AND OR ( )", quoted=True)),
    (
        "Message -contains x AND JobType -notcontains y",
        And((Comparison("Message", "-contains", "x"), Comparison("JobType", "-notcontains", "y"))),
    ),
    ("  Agent   -startswith\tweb  ", Comparison("Agent", "-startswith", "web")),
    ("Agent -endswith .com", Comparison("Agent", "-endswith", ".com")),
    (
        "A -lt 1 and B -le 2 or C -gt 3 AND D -ge 4",
        Or(
            (
                And((Comparison("A", "-lt", "1"), Comparison("B", "-le", "2"))),
                And((Comparison("C", "-gt", "3"), Comparison("D", "-ge", "4"))),
            )
        ),
    ),
    ("A -eq 1 OR B -eq 2 OR C -eq 3", Or((eq("A", "1"), eq("B", "2"), eq("C", "3")))),
    ("A -eq 1 AND (B -eq 2 OR C -eq 3)", And((eq("A", "1"), Or((eq("B", "2"), eq("C", "3")))))),
    ("(A -eq 1)", eq("A", "1")),
    ("((A -eq 1))AND(B -eq 2)", And((eq("A", "1"), eq("B", "2")))),
    ("NOT A -eq 1", Not(eq("A", "1"))),
    ("not A -eq 1 AND B -eq 2", And((Not(eq("A", "1")), eq("B", "2")))),
    ("NOT (A -eq 1 OR B -eq 2)", Not(Or((eq("A", "1"), eq("B", "2"))))),
    ("NOT NOT A -eq 1", Not(Not(eq("A", "1")))),
    ("NOTE -eq 1", eq("NOTE", "1")),
    (
        '(Result -eq "4" OR Result -eq "3") AND (Status -eq "3" OR Status -eq "5")',
        And(
            (
                Or((eq("Result", "4", quoted=True), eq("Result", "3", quoted=True))),
                Or((eq("Status", "3", quoted=True), eq("Status", "5", quoted=True))),
            )
        ),
    ),
    ('A -eq "x"AND B -eq 2', And((eq("A", "x", quoted=True), eq("B", "2")))),
    # -in / -notin (extensions): a parenthesized list; a bare value ends at a comma there
    (
        'Result -in (Failure, "3", 4)',
        Membership("Result", "-in", (ListValue("Failure"), ListValue("3", quoted=True), ListValue("4"))),
    ),
    ("Agent -NOTIN(a,b)", Membership("Agent", "-notin", (ListValue("a"), ListValue("b")))),
    ("Agent -in ( 'x, y' )", Membership("Agent", "-in", (ListValue("x, y", quoted=True),))),
    ('Message -in ("NULL", "")', Membership("Message", "-in", (ListValue("NULL", True), ListValue("", True)))),
    (
        "NOT Status -in (1) OR A -eq 1",
        Or((Not(Membership("Status", "-in", (ListValue("1"),))), eq("A", "1"))),
    ),
    ("OperationStart -ge %NOW-4h%", Comparison("OperationStart", "-ge", "%NOW-4h%")),
    ("AcknowledgedBy -eq %ME%", eq("AcknowledgedBy", "%ME%")),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parses(text: str, expected: Node) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\t\n "])
def test_blank_query_means_no_filter(text: str) -> None:
    assert parse(text) is None


def test_positions_point_into_the_text() -> None:
    node = parse('  Result  -eq   "Failure"')
    assert isinstance(node, Comparison)
    assert (node.position, node.op_position, node.value_position) == (2, 10, 16)


INVALID: list[tuple[str, int, str]] = [
    # parentheses
    ("(A -eq 1", 8, "opened at position 0 is not closed"),
    ("((A -eq 1)", 10, "opened at position 0 is not closed"),
    ("A -eq 1)", 7, "unmatched closing parenthesis"),
    (") A -eq 1", 0, "unmatched closing parenthesis"),
    ("()", 0, "empty parentheses"),
    ("A -eq 1 AND ( )", 12, "empty parentheses"),
    ("(NOT)", 4, "closing parenthesis where a condition"),
    ("(A -eq 1 B -eq 2)", 9, "unexpected 'B'"),
    # operators
    ("Result -like 4", 7, "unknown operator '-like'"),
    ("Result -eq4", 7, "unknown operator '-eq4'"),
    ("Result - 4", 7, "unknown operator '-'"),
    ("Result = 4", 7, "unexpected '='"),
    ("Result", 6, "missing operator"),
    ("Result 4", 7, "unexpected '4'"),
    # values
    ("Result -eq", 10, "missing value after -eq"),
    ("Result -eq   ", 13, "missing value after -eq"),
    ("(Result -eq)", 11, "missing value"),
    ("Result -eq AND B -eq 1", 11, "AND is a keyword"),
    ("Result -eq not", 11, "NOT is a keyword"),
    ('Message -eq "abc', 12, "unterminated quoted value"),
    ("Message -eq 'it''s", 12, "unterminated quoted value"),
    ('A -eq 1 AND Message -eq "x""', 24, "unterminated quoted value"),
    # fields
    ("-eq 4", 0, "where a field name was expected"),
    ('"Result" -eq 4', 0, "where a field name was expected"),
    ("AND A -eq 1", 0, "AND is a keyword"),
    ("NULL -eq 1", 0, "NULL is a keyword"),
    # connectors
    ("A -eq 1 AND", 8, "AND is not followed by a condition"),
    ("A -eq 1 or  ", 8, "OR is not followed by a condition"),
    ("(A -eq 1 OR)", 9, "OR is not followed by a condition"),
    ("A -eq 1 AND OR B -eq 1", 12, "OR is a keyword"),
    ("NOT", 3, "ends where a condition was expected"),
    ("A -eq 1 NOT B -eq 2", 8, "unexpected 'NOT'"),
    ("A -eq 1 B -eq 2", 8, "unexpected 'B'"),
    ("A -eq x)", 7, "unmatched closing parenthesis"),
    ("Android -eq 1 ORACLE", 14, "unexpected 'ORACLE'"),
    # -in / -notin lists
    ("Result -in ()", 11, "empty list after -in"),
    ("Result -notin (  )", 14, "empty list after -notin"),
    ("Result -in 4", 11, "-in needs a list of values in parentheses"),
    ("Result -in", 10, "-in needs a list of values in parentheses"),
    ("Result -in (1, 2", 16, "the list opened at position 11 is not closed"),
    ("Result -in (1 2)", 14, "unexpected '2' in the list"),
    ("Result -in (1, NULL)", 15, "NULL cannot be in the list"),
    ("Result -in (null)", 12, "NULL cannot be in the list"),
    ("Result -in (1,)", 14, "missing value in the list"),
    ("Result -in (,1)", 12, "missing value in the list"),
    ("Message -in (AND)", 13, "AND is a keyword"),
    ('Message -in ("a)', 13, "unterminated quoted value"),
    ("Result -in (" + ", ".join(["1"] * 101) + ")", 12 + 3 * 100, "more than 100 values"),
    # characters the database could not take
    ('Message -eq "a\0b"', 14, "NUL character"),
    ('Message -eq "\ud800"', 13, "invalid character"),
]


@pytest.mark.parametrize(("text", "position", "message"), INVALID)
def test_rejects(text: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse(text)
    assert raised.value.position == position
    assert message in raised.value.reason


def test_unknown_operator_lists_the_operators() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse("Result -like 4")
    assert raised.value.expected is not None
    assert "-eq" in raised.value.expected and "-notcontains" in raised.value.expected


def test_error_message_carries_position_and_expectation() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse("(Result -eq 4")
    assert raised.value.message == (
        "Invalid query at position 13: the parenthesis opened at position 0 is not closed; "
        "expected a closing parenthesis."
    )


class TestLengthLimit:
    def test_accepts_exactly_the_limit(self) -> None:
        text = 'Message -eq "' + "x" * (8192 - 14) + '"'
        assert len(text.encode()) == 8192
        assert parse(text) is not None

    def test_rejects_one_byte_more_before_parsing(self) -> None:
        text = "((((" + "x" * 8189  # malformed too: the limit is checked first
        with pytest.raises(QuerySyntaxError) as raised:
            parse(text)
        assert raised.value.position == 8192
        assert "8192 bytes" in raised.value.reason

    def test_points_at_the_first_character_past_the_limit(self) -> None:
        # The position is a character offset: 3000 characters of 3 bytes each pass 8192 bytes at character 2730.
        text = "€" * 3000
        with pytest.raises(QuerySyntaxError) as raised:
            parse(text)
        assert raised.value.position == 2730
        assert len(text[:2730].encode()) <= 8192 < len(text[:2731].encode())

    def test_counts_utf8_bytes(self) -> None:
        text = 'Message -eq "' + "é" * 10 + '"'  # 24 characters, 34 bytes
        assert parse(text, max_length=34) is not None
        with pytest.raises(QuerySyntaxError, match="limit of 33 bytes"):
            parse(text, max_length=33)


class TestNesting:
    def test_allows_32_levels(self) -> None:
        assert parse("(" * 32 + "A -eq 1" + ")" * 32) == eq("A", "1")
        assert parse("NOT " * 32 + "A -eq 1") is not None

    @pytest.mark.parametrize("text", ["(" * 33 + "A -eq 1" + ")" * 33, "NOT " * 33 + "A -eq 1", "(" * 5000])
    def test_rejects_deeper_nesting_without_recursion_error(self, text: str) -> None:
        with pytest.raises(QuerySyntaxError, match="nested more than 32 levels") as raised:
            parse(text, max_length=100_000)
        assert raised.value.position == (128 if text.startswith("NOT") else 32)

    def test_deepest_allowed_query_compiles(self) -> None:
        text = "(A -eq 1 OR (B -eq 1 AND " * 16 + "Result -eq 2" + "))" * 16
        text = text.replace("A -eq", "Result -eq").replace("B -eq", "Status -eq")
        condition = compile_where(parse(text), JOB_HISTORY_FIELDS, job_history.c, now=datetime.now(UTC))
        assert "job_history.result" in str(condition.compile(dialect=postgresql.dialect()))


class TestTerms:
    def test_allows_64_conditions(self) -> None:
        node = parse(" OR ".join(f"A -eq {n}" for n in range(64)))
        assert node is not None

    def test_rejects_the_65th_condition_at_its_position(self) -> None:
        text = " OR ".join(f"A -eq {n}" for n in range(65))
        with pytest.raises(QuerySyntaxError, match="more than 64 conditions") as raised:
            parse(text)
        assert raised.value.position == text.rindex("A -eq 64")
        assert raised.value.message.startswith("Invalid query at position")


class TestCanonicalText:
    """`to_text`: the canonical form (tests/reliability/test_query_properties.py checks it reads back on generated
    trees)."""

    @pytest.mark.parametrize(
        ("text", "canonical"),
        [
            ("", ""),
            ("status -EQ 2", "status -eq 2"),
            ("Message -eq 'it''s \"x\"'", 'Message -eq "it\'s ""x"""'),
            ("Message -ne null", "Message -ne NULL"),
            ('Message -eq "NULL"', 'Message -eq "NULL"'),
            ("a -eq 1 and (b -eq 2 or c -eq 3)", "a -eq 1 AND (b -eq 2 OR c -eq 3)"),
            ("(a -eq 1 and b -eq 2) or c -eq 3", "a -eq 1 AND b -eq 2 OR c -eq 3"),
            ("a -eq 1 and (b -eq 2 and c -eq 3)", "a -eq 1 AND (b -eq 2 AND c -eq 3)"),
            ("((a -eq 1))", "a -eq 1"),
            ("not (a -eq 1 or b -eq 2)", "NOT (a -eq 1 OR b -eq 2)"),
            ("not not a -eq 1", "NOT NOT a -eq 1"),
            ("a -IN(1,'x y',\"b\")", 'a -in (1, "x y", "b")'),
            ('a -notin ("p,q", r)', 'a -notin ("p,q", r)'),
            ("not a -in (1)", "NOT a -in (1)"),
        ],
    )
    def test_prints(self, text: str, canonical: str) -> None:
        node = parse(text)
        assert to_text(node) == canonical
        assert parse(canonical) == node

    def test_a_registry_gives_canonical_field_names(self) -> None:
        node = parse("agent -eq web AND RESULT -eq 4 AND Nonesuch -eq 1")
        assert to_text(node, JOB_HISTORY_FIELDS) == "Agent -eq web AND Result -eq 4 AND Nonesuch -eq 1"

    def test_a_bare_value_that_would_not_read_back_is_quoted(self) -> None:
        assert to_text(Comparison("A", "-eq", "two words")) == 'A -eq "two words"'
        assert to_text(Comparison("A", "-eq", "or")) == 'A -eq "or"'
        assert to_text(Comparison("A", "-eq", "")) == 'A -eq ""'


class TestDescribe:
    def test_renders_structure_in_english(self) -> None:
        node = parse('Result -eq "Failure" AND (Status -eq 3 OR Status -eq CompletedWillRetry)')
        assert describe(node) == "Result is Failure and (Status is 3 or Status is CompletedWillRetry)"

    def test_uses_canonical_names_and_enum_labels_with_a_registry(self) -> None:
        node = parse("result -eq 4 AND (status -eq 3 OR status -eq completedwillretry)")
        assert describe(node, JOB_HISTORY_FIELDS) == (
            "Result is Failure and (Status is Completed or Status is CompletedWillRetry)"
        )

    @pytest.mark.parametrize(
        ("text", "english"),
        [
            ("Message -ne NULL", "Message is not null"),
            ('NOT Message -contains "disk full"', 'not (Message contains "disk full")'),
            ('Message -eq "AND"', 'Message is "AND"'),
            ("OperationStart -lt %TODAY%", "OperationStart is before %TODAY%"),
            ("ClientMachine -startswith web", "Agent starts with web"),
            ("Nope -le 3", "Nope is at most 3"),
            ("Result -in (4, warning)", "Result is one of (Failure, Warning)"),
            ("Agent -notin (a, b)", "Agent is none of (a, b)"),
            ('Agent -in ("a,b", c)', 'Agent is one of ("a,b", c)'),
        ],
    )
    def test_phrases(self, text: str, english: str) -> None:
        assert describe(parse(text), JOB_HISTORY_FIELDS) == english

    def test_blank_query_describes_everything(self) -> None:
        assert describe(None) == "everything"


FRAGMENTS = [
    "(",
    ")",
    " ",
    "  ",
    "AND",
    "OR",
    "NOT",
    "and",
    "not",
    "NULL",
    "null",
    '"',
    "'",
    '""',
    "''",
    "Result",
    "Status",
    "Message",
    "JobId",
    "OperationStart",
    "JobHistoryId",
    "AgentId",
    "Nope",
    "-eq",
    "-ne",
    "-lt",
    "-ge",
    "-contains",
    "-notcontains",
    "-startswith",
    "-x",
    "-",
    "--",
    "4",
    "-12",
    "99999999999999999999999",
    "Failure",
    "%TODAY%",
    "%TODAY-1%",
    "%TODAY+999999%",
    "2025-01-01",
    "2025-02-30",
    "2025-01-01T10:00:00Z",
    "9999-12-31",
    "0000-01-01",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "%",
    "_",
    "\\",
    "\t",
    "\n",
    "é",
    "\u00a0",
    "\0",
    "\ud800",
    "\U0001f600",
    ";",
    "=",
    ",",
    "-in",
    "-notin",
    "(1, 2)",
    "(Failure,",
    "%NOW%",
    "%NOW-4h%",
    "%ME%",
]


FIELDS = [
    "Result",
    "status",
    "Message",
    "JobId",
    "OperationStart",
    "JobHistoryId",
    "AgentId",
    "StorePath",
    "Nope",
]
OPERATORS = [
    "-eq",
    "-ne",
    "-lt",
    "-le",
    "-gt",
    "-ge",
    "-contains",
    "-notcontains",
    "-startswith",
    "-endswith",
    "-in",
    "-notin",
]
VALUES = [
    "4",
    "-12",
    "99999999999999999999999",
    "Failure",
    "inprocess",
    "%TODAY%",
    "%TODAY-1%",
    "%TODAY+999999%",
    "2025-01-01",
    "2025-02-30",
    "2025-01-01T10:00:00Z",
    "9999-12-31",
    "0000-01-01",
    "NULL",
    '"NULL"',
    '""',
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    '"50%_off"',
    "'it''s'",
    "x",
    "%NOW%",
    "%NOW-4h%",
    "%now+99999999999w%",
    "%NOW-4y%",
    "%TODAY-1w%",
    "%ME%",
]


def random_fragments(rng: random.Random) -> str:
    return " ".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(0, 14)))


def random_characters(rng: random.Random) -> str:
    return "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(0, 40)))


def random_structured(rng: random.Random) -> str:
    """Mostly well-formed queries, so that the compiler's value checks get exercised too."""
    parts: list[str] = []
    for index in range(rng.randrange(1, 5)):
        if index:
            parts.append(rng.choice(["AND", "OR", "and", "OR NOT"]))
        op = rng.choice(OPERATORS)
        value = rng.choice(VALUES)
        if op in ("-in", "-notin"):
            value = "(" + ", ".join(rng.choice(VALUES) for _ in range(rng.randrange(1, 4))) + ")"
        condition = f"{rng.choice(FIELDS)} {op} {value}"
        parts.append(f"({condition})" if rng.random() < 0.3 else condition)
    if rng.random() < 0.3:  # corrupt it
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(FRAGMENTS))
    return " ".join(parts)


def random_query(rng: random.Random) -> str:
    generator = rng.choice([random_fragments, random_characters, random_structured, random_structured])
    return generator(rng)


def test_random_input_raises_only_query_syntax_errors() -> None:
    rng = random.Random(20251129)
    now = datetime(2025, 6, 15, 12, tzinfo=UTC)
    parsed = compiled = 0
    for _ in range(3000):
        text = random_query(rng)
        try:
            node = parse(text, max_length=200)
            parsed += 1
            condition = compile_where(node, JOB_HISTORY_FIELDS, job_history.c, now=now)
            condition.compile(dialect=sqlite.dialect())
            describe(node, JOB_HISTORY_FIELDS)
            compiled += 1
        except QuerySyntaxError as error:
            assert 0 <= error.position <= len(text), text
    # The generator must reach the compiler and produce some queries that work.
    assert parsed > 1000 and compiled > 100
