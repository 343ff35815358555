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


Node = Comparison | And | Or | Not
