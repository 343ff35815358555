"""The instants a query's date comparisons stand for at a given moment: what `%TODAY-7%` or `%NOW-4h%` resolves to,
for Explain (a person reads which window a relative query covers right now)."""

from dataclasses import dataclass
from datetime import datetime

from orchjobs.query.ast import Comparison, Membership, Node, Not
from orchjobs.query.fields import FieldKind, FieldRegistry
from orchjobs.query.sql import Day, read_date


@dataclass(frozen=True)
class TimeWindow:
    """One date comparison, resolved: the times between `start` and `end` (None: unbounded on that side; each
    bound inclusive or not). `inside` is False when the comparison selects the times outside the window
    (`-ne`, or an odd number of NOTs around it)."""

    field: str
    op: str
    value: str
    start: datetime | None
    start_inclusive: bool
    end: datetime | None
    end_inclusive: bool
    inside: bool


def time_windows(node: Node | None, registry: FieldRegistry, *, now: datetime) -> list[TimeWindow]:
    """Every date comparison of `node` (a tree that compiles against `registry`), in source order."""
    found: list[TimeWindow] = []
    _collect(node, registry, now, negated=False, into=found)
    return found


def _collect(
    node: Node | None, registry: FieldRegistry, now: datetime, *, negated: bool, into: list[TimeWindow]
) -> None:
    if node is None or isinstance(node, Membership):
        return
    if isinstance(node, Not):
        _collect(node.item, registry, now, negated=not negated, into=into)
        return
    if isinstance(node, Comparison):
        query_field = registry.find(node.field)
        if query_field is not None and query_field.kind is FieldKind.DATE and node.value is not None:
            into.append(_window(node, query_field.name, read_date(node, now), negated=negated))
        return
    for item in node.items:
        _collect(item, registry, now, negated=negated, into=into)


def _window(node: Comparison, name: str, when: Day | datetime, *, negated: bool) -> TimeWindow:
    # (start, start inclusive, end, end inclusive) of the times the operator selects (for -ne: excludes).
    if isinstance(when, Day):
        bounds = {
            "-eq": (when.start, True, when.end, False),
            "-ne": (when.start, True, when.end, False),
            "-lt": (None, False, when.start, False),
            "-le": (None, False, when.end, False),
            "-gt": (when.end, True, None, False),
            "-ge": (when.start, True, None, False),
        }
    else:
        bounds = {
            "-eq": (when, True, when, True),
            "-ne": (when, True, when, True),
            "-lt": (None, False, when, False),
            "-le": (None, False, when, True),
            "-gt": (when, False, None, False),
            "-ge": (when, True, None, False),
        }
    start, start_inclusive, end, end_inclusive = bounds[node.op]
    inside = (node.op != "-ne") != negated
    return TimeWindow(name, node.op, node.value or "", start, start_inclusive, end, end_inclusive, inside)
