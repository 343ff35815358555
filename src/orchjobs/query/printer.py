"""The canonical text of a query tree: what `parse` reads back to the same tree.

    to_text(parse("status -EQ 2 and (result -eq 'x' or NOT Message -eq null)"))
    == "status -eq 2 AND (result -eq \"x\" OR NOT Message -eq NULL)"

Keywords are upper-case and operators lower-case, tokens are separated by one space, a quoted value is
double-quoted (a `"` in it doubled), and parentheses appear only where the tree needs them. Whether a value was
quoted is kept (it is part of the tree): a bare value stays bare. With a field registry, fields are written under
their canonical names (an alias or another case resolved), so two queries that differ only in spelling print the
same; a field the registry does not know is written as it is.
"""

from orchjobs.query.ast import And, Comparison, Node, Not, Or
from orchjobs.query.fields import FieldRegistry
from orchjobs.query.parser import KEYWORDS

# What ends a bare value when it is read back (docs/query-language.md, `bare`).
_BARE_STOPS = frozenset("()\"'")


def to_text(node: Node | None, registry: FieldRegistry | None = None) -> str:
    """The canonical query text of `node`; the empty string for no filter."""
    if node is None:
        return ""
    return _node(node, registry)


def _node(node: Node, registry: FieldRegistry | None) -> str:
    if isinstance(node, Comparison):
        return _comparison(node, registry)
    if isinstance(node, Not):
        operand = node.item
        inner = _node(operand, registry)
        return "NOT " + (f"({inner})" if isinstance(operand, And | Or) else inner)
    if isinstance(node, And):
        # An And among the items came from parentheses (the parser flattens a chain), and an Or binds looser.
        return " AND ".join(_grouped(item, registry, isinstance(item, And | Or)) for item in node.items)
    # An Or item that is an And needs no parentheses: AND binds tighter.
    return " OR ".join(_grouped(item, registry, isinstance(item, Or)) for item in node.items)


def _grouped(node: Node, registry: FieldRegistry | None, parenthesize: bool) -> str:
    text = _node(node, registry)
    return f"({text})" if parenthesize else text


def _comparison(node: Comparison, registry: FieldRegistry | None) -> str:
    field = registry.find(node.field) if registry is not None else None
    name = field.name if field is not None else node.field
    return f"{name} {node.op.lower()} {_value(node)}"


def _value(node: Comparison) -> str:
    if node.value is None:
        return "NULL"
    if not node.quoted and _reads_back_bare(node.value):
        return node.value
    return '"' + node.value.replace('"', '""') + '"'


def _reads_back_bare(value: str) -> bool:
    """Whether `value`, written unquoted, is read back as the same bare value (not cut short, not a keyword)."""
    return (
        bool(value)
        and value.upper() not in KEYWORDS
        and not any(char.isspace() or char in _BARE_STOPS for char in value)
    )
