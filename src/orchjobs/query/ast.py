"""The syntax tree of a parsed query: what the user wrote, before any field is resolved.

Nodes are immutable. Source positions (0-based character offsets) ride along so that the
compiler can point its errors at the right place; they do not take part in equality, so two
queries that differ only in spacing produce equal trees.
"""

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """`Field -op value`. `value` is None for a bare NULL; `quoted` tells whether it was quoted."""

    field: str
    op: str
    value: str | None
    quoted: bool = False
    position: int = dataclasses.field(default=0, compare=False)
    op_position: int = dataclasses.field(default=0, compare=False)
    value_position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class ListValue:
    """One value of a `-in` / `-notin` list; never NULL (a list holds values only)."""

    value: str
    quoted: bool = False
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Membership:
    """`Field -in (v1, v2, ...)` or `-notin`: the field equals one (none) of the values. An extension beyond
    Command's documented syntax; `value_position` is that of the opening parenthesis."""

    field: str
    op: str
    values: tuple[ListValue, ...]
    position: int = dataclasses.field(default=0, compare=False)
    op_position: int = dataclasses.field(default=0, compare=False)
    value_position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    """All items hold. Items appear in source order; chains are flattened within one group."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    """At least one item holds."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    """The item does not hold (an extension beyond Command's documented syntax)."""

    item: "Node"


Node = Comparison | Membership | And | Or | Not
"""A condition (`Comparison`, `Membership`) or a connective over conditions."""
