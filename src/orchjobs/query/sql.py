"""What a parsed query means: a SQLAlchemy WHERE condition, and a short English rendering.

Field names are resolved against a `FieldRegistry`; values are checked and converted per
field kind, and always reach the database as bound parameters. Rules worth knowing:

* text comparisons ignore case (on SQLite only for ASCII letters, as SQLite's lower() does);
* `-ne` and `-notcontains` also match rows where the column is NULL ("is not X" holds for
  an empty column), unlike SQL's three-valued logic; likewise `NOT` of any comparison is
  true for a NULL column, so `NOT Message -eq x` equals `Message -ne x`;
* a date without a time (and `%TODAY%`, `%TODAY-N%`, `%TODAY+N%`) stands for the whole UTC day; `%NOW%` and
  `%NOW-4h%` (units s, m, h, d, w) stand for one instant;
* `%ME%` as the value of a text field is the name of the user who asks (an error when there is none);
* `-in` / `-notin` compare with each value of a list as `-eq` / `-ne` would (text ignores case, `-notin`
  also matches NULL), as one SQL IN with a bound parameter per value; they do not apply to dates;
* a TEXT_SET field (an agent's capabilities) holds when *some* value of the row's set matches:
  `EXISTS (SELECT 1 FROM child WHERE child.fk = row.key AND <text test>)`; `-ne` and
  `-notcontains` hold when *no* value matches (so also for an empty set), `-eq NULL` means
  "the set is empty" and `-ne NULL` "the set is not empty".
"""

import operator
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, literal, literal_column, not_, or_, select, true
from sqlalchemy.sql.expression import ColumnCollection

from orchjobs.domain.numbers import INT64_MAX as _INT64_MAX
from orchjobs.domain.numbers import INT64_MIN as _INT64_MIN
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import QuerySyntaxError
from orchjobs.query.ast import And, Comparison, ListValue, Membership, Node, Not, Or
from orchjobs.query.fields import FieldKind, FieldRegistry, QueryField
from orchjobs.query.parser import KEYWORDS

Columns = ColumnCollection[str, Any]
Condition = ColumnElement[bool]

_EQUALITY = ("-eq", "-ne")
_ORDERING = ("-lt", "-le", "-gt", "-ge")
_TEXT_MATCH = ("-contains", "-notcontains", "-startswith", "-endswith")
_LIST = ("-in", "-notin")
# Operators whose condition already holds for a NULL column.
_NULL_MATCHING = ("-ne", "-notcontains", "-notin")

_OPERATORS_BY_KIND: dict[FieldKind, tuple[str, ...]] = {
    FieldKind.STRING: _EQUALITY + _TEXT_MATCH + _LIST,
    FieldKind.INTEGER: _EQUALITY + _ORDERING + _LIST,
    FieldKind.ENUM: _EQUALITY + _ORDERING + _LIST,
    # A list of days and instants has no one meaning for IN: ranges (-ge ... AND -lt ...) say what is meant.
    FieldKind.DATE: _EQUALITY + _ORDERING,
    FieldKind.UUID: _EQUALITY + _LIST,
    FieldKind.TEXT_SET: _EQUALITY + _TEXT_MATCH + _LIST,
    FieldKind.HEX: _EQUALITY + _TEXT_MATCH + _LIST,
}
_KIND_WORDS: dict[FieldKind, str] = {
    FieldKind.STRING: "text",
    FieldKind.INTEGER: "number",
    FieldKind.ENUM: "enumeration",
    FieldKind.DATE: "date",
    FieldKind.UUID: "identifier",
    FieldKind.TEXT_SET: "text list",
    FieldKind.HEX: "hexadecimal",
}
# A TEXT_SET's negative operators are "no value matches the positive one".
_SET_NEGATIONS = {"-ne": "-eq", "-notcontains": "-contains", "-notin": "-in"}
_COMPARE: dict[str, Callable[[Any, Any], Condition]] = {
    "-eq": operator.eq,
    "-lt": operator.lt,
    "-le": operator.le,
    "-gt": operator.gt,
    "-ge": operator.ge,
}

# What people paste into a thumbprint besides its digits: spaces (Windows shows them) and colons (openssl does).
_HEX_NOISE = re.compile(r"[\s:\u200e\u200f]")
# %TODAY%, %TODAY-7%, %TODAY-7d%, %NOW%, %NOW-4h%... (the unit checked apart, so that a wrong one can be named).
_RELATIVE = re.compile(r"%(TODAY|NOW)(?:([+-])([0-9]+)([A-Za-z]*))?%", re.IGNORECASE | re.ASCII)
_NOW_UNITS: dict[str, timedelta] = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_TODAY_UNITS: dict[str, int] = {"": 1, "d": 1, "w": 7}
_NOW_UNITS_EXPECTED = "a unit: s (seconds), m (minutes), h (hours), d (days) or w (weeks), as in %NOW-4h%"
_TODAY_UNITS_EXPECTED = "a number of days (%TODAY-7% or %TODAY-7d%) or weeks (%TODAY-1w%)"
# More digits than any date within the years 1-9999 needs (in seconds): refused before any arithmetic.
_MAX_OFFSET_DIGITS = 12
ME = "%ME%"
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # date
    r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"  # time, seconds and fraction optional
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?",  # offset; none means UTC
    re.IGNORECASE | re.ASCII,
)
_DATE_FORMATS = (
    "a date such as 2025-01-01, a date and time such as 2025-01-01T10:00:00Z, "
    "2025-01-01 10:00 or 2025-01-01T10:00:00+02:00 (UTC when no offset), %TODAY%, %TODAY-N%, %TODAY+N% "
    "(whole days), or %NOW%, %NOW-4h%, %NOW+30m% (instants; units s, m, h, d, w)"
)


def operators_of(kind: FieldKind) -> tuple[str, ...]:
    """The operators a field of `kind` takes (besides `-eq NULL` and `-ne NULL`, which every kind takes)."""
    return _OPERATORS_BY_KIND[kind]


def kind_word(kind: FieldKind) -> str:
    """How messages and Explain name a kind: text, number, enumeration, date, identifier, text list, hexadecimal."""
    return _KIND_WORDS[kind]


@dataclass(frozen=True)
class RelatedValues:
    """Where a TEXT_SET field's values live: `value` in a child table whose `foreign_key` column
    references the queried row's `parent_key`, e.g. agent_capability.capability by agent_id = agent.id."""

    value: Any
    foreign_key: Any
    parent_key: Any


def compile_where(
    node: Node | None,
    registry: FieldRegistry,
    columns: Columns,
    *,
    now: datetime,
    related: Mapping[str, RelatedValues] | None = None,
    user: str | None = None,
) -> Condition:
    """The WHERE condition for `node`; `columns` is e.g. `job_history.c`, `now` anchors %TODAY% and %NOW%,
    `related` gives the child table of each TEXT_SET field by the field's `column` name, `user` is what %ME%
    stands for (None: %ME% is refused).

    A None node (blank query) selects everything. Raises QuerySyntaxError for unknown fields,
    operators that do not apply to a field and values of the wrong form.
    """
    if node is None:
        return true()
    return _Compiler(registry, columns, _as_utc(now), related or {}, user).compile(node)


@dataclass(frozen=True)
class _Compiler:
    registry: FieldRegistry
    columns: Columns
    now: datetime
    related: Mapping[str, RelatedValues] = field(default_factory=dict)
    user: str | None = None

    def compile(self, node: Node, *, negated: bool = False) -> Condition:
        if isinstance(node, Comparison):
            return self._comparison(node, negated=negated)
        if isinstance(node, Membership):
            return self._membership(node, negated=negated)
        if isinstance(node, And):
            return and_(*(self.compile(item, negated=negated) for item in node.items))
        if isinstance(node, Or):
            return or_(*(self.compile(item, negated=negated) for item in self._equalities_as_lists(node)))
        return not_(self.compile(node.item, negated=True))

    def _equalities_as_lists(self, node: Or) -> list[Node]:
        """The items of an OR, with two or more `-eq` of one field folded into one `-in` at the first one's place:
        `Result -eq 3 OR Result -eq 4` is `Result -in (3, 4)`, which selects the same rows (-in compares each value as
        -eq does, NULL included) and which PostgreSQL's planner reads as one indexable condition, where it costs an
        OR of equalities badly (issue 13). Dates (-eq is a whole day) and text lists keep their ORs."""
        groups: dict[str, list[Comparison]] = {}
        for item in node.items:
            if isinstance(item, Comparison) and item.op == "-eq" and item.value is not None:
                query_field = self.registry.find(item.field)
                if query_field is not None and query_field.kind not in (FieldKind.DATE, FieldKind.TEXT_SET):
                    groups.setdefault(query_field.name, []).append(item)
        folded = {name: equalities for name, equalities in groups.items() if len(equalities) > 1}
        if not folded:
            return list(node.items)
        placed: dict[int, Node] = {}
        dropped: set[int] = set()
        for equalities in folded.values():
            first = equalities[0]
            values = tuple(ListValue(item.value or "", item.quoted, item.value_position) for item in equalities)
            placed[id(first)] = Membership(
                first.field, "-in", values, first.position, first.op_position, first.value_position
            )
            dropped.update(id(item) for item in equalities[1:])
        return [placed.get(id(item), item) for item in node.items if id(item) not in dropped]

    def _comparison(self, node: Comparison, *, negated: bool) -> Condition:
        query_field = self.registry.resolve(node.field, node.position)
        if query_field.kind is FieldKind.TEXT_SET:
            # EXISTS is never unknown, so NOT needs no NULL guard here.
            return self._set_comparison(node, query_field)
        column = self.columns[query_field.column]
        if node.value is None:
            return _null_test(node, column)
        _check_operator(node, query_field)
        condition = self._value_test(node, query_field, column)
        return _guard_null(condition, column, op=node.op, negated=negated)

    def _membership(self, node: Membership, *, negated: bool) -> Condition:
        query_field = self.registry.resolve(node.field, node.position)
        _check_operator(node, query_field)
        if query_field.kind is FieldKind.TEXT_SET:
            related = self.related[query_field.column]
            texts = [_lower_value(self._text(item.value, item.position)) for item in node.values]
            match = _exists(related, _lower(related.value).in_(texts))
            return not_(match) if node.op == "-notin" else match
        column = self.columns[query_field.column]
        values = [self._list_value(item, query_field) for item in node.values]
        tested = _lower(column) if query_field.kind is FieldKind.STRING else column
        condition = tested.in_(values)
        if node.op == "-notin":
            condition = or_(not_(condition), column.is_(None))
        return _guard_null(condition, column, op=node.op, negated=negated)

    def _list_value(self, item: ListValue, query_field: QueryField) -> Any:
        """One list value as the column holds it; a value of another kind is refused at its own position."""
        if query_field.kind is FieldKind.STRING:
            return _lower_value(self._text(item.value, item.position))
        if query_field.kind is FieldKind.HEX:
            return _HEX_NOISE.sub("", item.value).upper()
        probe = Comparison(query_field.name, "-in", item.value, item.quoted, value_position=item.position)
        return _read_scalar(probe, query_field)

    def _text(self, value: str, position: int) -> str:
        """A text value, with %ME% (the whole value, any case) standing for the user who asks."""
        if value.strip().upper() != ME:
            return value
        if self.user is None:
            raise QuerySyntaxError(
                "%ME% (the current user) has no user to stand for here",
                position=position,
                expected="a value other than %ME%",
            )
        return self.user

    def _set_comparison(self, node: Comparison, query_field: QueryField) -> Condition:
        related = self.related[query_field.column]
        if node.value is None:
            _check_null_operator(node)
            any_value = _exists(related, true())
            return not_(any_value) if node.op == "-eq" else any_value
        _check_operator(node, query_field)
        positive = _SET_NEGATIONS.get(node.op, node.op)
        match = _exists(related, _text_condition(positive, related.value, node.value))
        return not_(match) if node.op in _SET_NEGATIONS else match

    def _value_test(self, node: Comparison, query_field: QueryField, column: Any) -> Condition:
        assert node.value is not None
        if query_field.kind is FieldKind.STRING:
            return _text_condition(node.op, column, self._text(node.value, node.value_position))
        if query_field.kind is FieldKind.HEX:
            return _hex_condition(node.op, column, _HEX_NOISE.sub("", node.value).upper())
        if query_field.kind is FieldKind.DATE:
            return _date_condition(node.op, column, read_date(node, self.now))
        return _value_condition(node.op, column, _read_scalar(node, query_field))


# -- operators -------------------------------------------------------------------------------


def _guard_null(condition: Condition, column: Any, *, op: str, negated: bool) -> Condition:
    if negated and op not in _NULL_MATCHING and getattr(column, "nullable", True):
        # SQL's NOT of an unknown (NULL) comparison is still unknown; make it false so
        # that `NOT Message -eq x` selects the same rows as `Message -ne x`.
        return and_(column.is_not(None), condition)
    return condition


def _null_test(node: Comparison, column: ColumnElement[Any]) -> Condition:
    _check_null_operator(node)
    return column.is_(None) if node.op == "-eq" else column.is_not(None)


def _check_null_operator(node: Comparison) -> None:
    if node.op not in _EQUALITY:
        raise QuerySyntaxError(
            f"NULL can only be compared with -eq or -ne, not {node.op}",
            position=node.value_position,
            expected="-eq NULL or -ne NULL",
        )


def _exists(related: RelatedValues, condition: Condition) -> Condition:
    """Whether some child row of the queried row meets `condition` (a correlated subquery)."""
    return select(literal_column("1")).where(related.foreign_key == related.parent_key, condition).exists()


def _check_operator(node: Comparison | Membership, query_field: QueryField) -> None:
    allowed = _OPERATORS_BY_KIND[query_field.kind]
    if node.op not in allowed:
        raise QuerySyntaxError(
            f"{node.op} does not apply to {_KIND_WORDS[query_field.kind]} field {query_field.name}",
            position=node.op_position,
            expected=f"one of: {', '.join(allowed)}",
        )


def _not_equal(column: ColumnElement[Any], value: Any) -> Condition:
    return or_(column != value, column.is_(None))


def _value_condition(op: str, column: ColumnElement[Any], value: Any) -> Condition:
    if op == "-ne":
        return _not_equal(column, value)
    return _COMPARE[op](column, value)


def _text_condition(op: str, column: ColumnElement[Any], value: str) -> Condition:
    # lower() on both sides in SQL, so both sides fold the same way on each database.
    if op == "-eq":
        return _lower(column) == _lower_value(value)
    if op == "-ne":
        return or_(_lower(column) != _lower_value(value), column.is_(None))
    if op == "-contains":
        return column.icontains(value, autoescape=True)
    if op == "-notcontains":
        return or_(not_(column.icontains(value, autoescape=True)), column.is_(None))
    if op == "-startswith":
        return column.istartswith(value, autoescape=True)
    return column.iendswith(value, autoescape=True)


def _hex_condition(op: str, column: ColumnElement[Any], value: str) -> Condition:
    # The column holds upper-case hex and the value was upper-cased: compared as they are, so an index serves -eq.
    if op == "-eq":
        return column == value
    if op == "-ne":
        return _not_equal(column, value)
    if op == "-contains":
        return column.contains(value, autoescape=True)
    if op == "-notcontains":
        return or_(not_(column.contains(value, autoescape=True)), column.is_(None))
    if op == "-startswith":
        return column.startswith(value, autoescape=True)
    return column.endswith(value, autoescape=True)


def _lower(column: ColumnElement[Any]) -> ColumnElement[str]:
    return func.lower(column)


def _lower_value(value: str) -> ColumnElement[str]:
    return func.lower(literal(value, String()))


@dataclass(frozen=True)
class Day:
    """A whole UTC day: start <= t < end."""

    start: datetime
    end: datetime


def _date_condition(op: str, column: Any, when: "Day | datetime") -> Condition:
    if isinstance(when, datetime):
        return _value_condition(op, column, when)
    by_operator: dict[str, Callable[[], Condition]] = {
        "-eq": lambda: and_(column >= when.start, column < when.end),
        "-ne": lambda: or_(column < when.start, column >= when.end, column.is_(None)),
        "-lt": lambda: column < when.start,
        "-le": lambda: column < when.end,
        "-gt": lambda: column >= when.end,
        "-ge": lambda: column >= when.start,
    }
    return by_operator[op]()


# -- values ----------------------------------------------------------------------------------


def _read_scalar(node: Comparison, query_field: QueryField) -> int | uuid.UUID:
    assert node.value is not None
    if query_field.kind is FieldKind.INTEGER:
        return _read_integer(node, query_field)
    if query_field.kind is FieldKind.ENUM:
        return _read_enum(node, query_field)
    return _read_uuid(node, query_field)


def _parse_int64(text: str) -> int | None:
    number = lenient_int(text)
    return number if number is not None and _INT64_MIN <= number <= _INT64_MAX else None


def _read_integer(node: Comparison, query_field: QueryField) -> int:
    number = _parse_int64(node.value or "")
    if number is None:
        raise QuerySyntaxError(
            f"'{node.value}' is not a whole number, as {query_field.name} requires",
            position=node.value_position,
            expected="a whole number such as 42",
        )
    return number


def _enum_choices(query_field: QueryField) -> str:
    names = query_field.enum_names or {}
    values = sorted(set(names.values()))
    return ", ".join(f"{query_field.label_of(value)} ({value})" for value in values)


def enum_value(query_field: QueryField, text: str) -> int | None:
    """The enum value `text` names (a number or a name, any case, `_`/`-`/spaces ignored), or None."""
    names = query_field.enum_names or {}
    number = _parse_int64(text)
    if number is not None:
        return number if number in names.values() else None
    return names.get(re.sub(r"[\s_-]", "", text).lower())


def _read_enum(node: Comparison, query_field: QueryField) -> int:
    value = enum_value(query_field, node.value or "")
    if value is None:
        raise QuerySyntaxError(
            f"'{node.value}' is not a value of {query_field.name}",
            position=node.value_position,
            expected=f"one of: {_enum_choices(query_field)}",
        )
    return value


def _read_uuid(node: Comparison, query_field: QueryField) -> uuid.UUID:
    try:
        return uuid.UUID((node.value or "").strip())
    except ValueError:
        raise QuerySyntaxError(
            f"'{node.value}' is not a GUID, as {query_field.name} requires",
            position=node.value_position,
            expected="a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        ) from None


def read_date(node: Comparison, now: datetime) -> "Day | datetime":
    """What a date value stands for at `now`: a whole UTC day or one instant; QuerySyntaxError at the value."""
    text = (node.value or "").strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        return _relative_date(relative, node, _as_utc(now))
    try:
        when = _parse_date(text)
    except (ValueError, OverflowError):
        when = None
    if when is None:
        raise QuerySyntaxError(
            f"'{node.value}' is not a valid date", position=node.value_position, expected=_DATE_FORMATS
        )
    return when


def _relative_date(match: "re.Match[str]", node: Comparison, now: datetime) -> "Day | datetime":
    anchor, sign, digits, unit = match.groups()
    is_now = anchor.upper() == "NOW"
    units: Mapping[str, object] = _NOW_UNITS if is_now else _TODAY_UNITS
    if digits is not None and unit not in units:
        reason = f"the unit '{unit}' is not one of {', '.join(u for u in units if u)}" if unit else "it has no unit"
        raise QuerySyntaxError(
            f"'{node.value}' is not a valid relative time: {reason}",
            position=node.value_position,
            expected=_NOW_UNITS_EXPECTED if is_now else _TODAY_UNITS_EXPECTED,
        )
    try:
        if len(digits or "") > _MAX_OFFSET_DIGITS:
            raise OverflowError
        count = int(digits or 0) * (-1 if sign == "-" else 1)
        if is_now:
            return now + count * _NOW_UNITS[unit or "s"]
        return _whole_day(now.date() + timedelta(days=count * _TODAY_UNITS[unit or ""]))
    except (ValueError, OverflowError):
        raise QuerySyntaxError(
            f"'{node.value}' is not a valid date: it lies outside the years 1 to 9999",
            position=node.value_position,
            expected=_DATE_FORMATS,
        ) from None


def _parse_date(text: str) -> "Day | datetime | None":
    """A whole day, an exact instant, or None; ValueError/OverflowError for impossible dates."""
    if _DATE_ONLY.fullmatch(text):
        return _whole_day(date.fromisoformat(text))
    if _DATE_TIME.fullmatch(text):
        return _as_utc(datetime.fromisoformat(text.upper()))
    return None


def _whole_day(day: date) -> Day:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Day(start, start + timedelta(days=1))


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- English ---------------------------------------------------------------------------------

_PHRASES = {
    "-eq": "is",
    "-ne": "is not",
    "-contains": "contains",
    "-notcontains": "does not contain",
    "-startswith": "starts with",
    "-endswith": "ends with",
    "-lt": "is less than",
    "-le": "is at most",
    "-gt": "is greater than",
    "-ge": "is at least",
}
_DATE_PHRASES = {"-lt": "is before", "-le": "is on or before", "-gt": "is after", "-ge": "is on or after"}


def describe(node: Node | None, registry: FieldRegistry | None = None) -> str:
    """A short English rendering, e.g. `Result is 4 and (Status is 3 or Status is 5)`.

    With a registry, field names are shown canonically and enum numbers by name. Never raises
    for a tree that `parse` produced, even when a field is unknown.
    """
    if node is None:
        return "everything"
    if isinstance(node, Comparison):
        return _describe_comparison(node, registry)
    if isinstance(node, Membership):
        return _describe_membership(node, registry)
    if isinstance(node, Not):
        return f"not ({describe(node.item, registry)})"
    joiner = " and " if isinstance(node, And) else " or "
    return joiner.join(_describe_operand(item, registry) for item in node.items)


def _describe_operand(node: Node, registry: FieldRegistry | None) -> str:
    text = describe(node, registry)
    return f"({text})" if isinstance(node, And | Or) else text


def _describe_comparison(node: Comparison, registry: FieldRegistry | None) -> str:
    query_field = registry.find(node.field) if registry else None
    name = query_field.name if query_field else node.field
    if node.value is None:
        return f"{name} is null" if node.op == "-eq" else f"{name} is not null"
    phrase = _PHRASES[node.op]
    if query_field and query_field.kind is FieldKind.DATE:
        phrase = _DATE_PHRASES.get(node.op, phrase)
    return f"{name} {phrase} {_describe_value(node.value, query_field)}"


def _describe_membership(node: Membership, registry: FieldRegistry | None) -> str:
    query_field = registry.find(node.field) if registry else None
    name = query_field.name if query_field else node.field
    phrase = "is one of" if node.op == "-in" else "is none of"
    values = ", ".join(_describe_list_value(item.value, query_field) for item in node.values)
    return f"{name} {phrase} ({values})"


def _describe_list_value(value: str, query_field: QueryField | None) -> str:
    text = _describe_value(value, query_field)
    return '"' + text.replace('"', '""') + '"' if "," in text and not text.startswith('"') else text


def _describe_value(value: str, query_field: QueryField | None) -> str:
    if query_field and query_field.kind is FieldKind.ENUM:
        number = enum_value(query_field, value)
        if number is not None:
            return query_field.label_of(number)
    needs_quotes = not value or value.upper() in KEYWORDS or any(c.isspace() or c in "()\"'" for c in value)
    return '"' + value.replace('"', '""') + '"' if needs_quotes else value
