"""The canonical text of a query tree: what `parse` reads back to the same tree.

    to_text(parse("status -EQ 2 and (result -eq 'x' or NOT Message -eq null)"))
    == "status -eq 2 AND (result -eq \"x\" OR NOT Message -eq NULL)"

Keywords are upper-case and operators lower-case, tokens are separated by one space, a quoted value is
double-quoted (a `"` in it doubled), and parentheses appear only where the tree needs them. Whether a value was
quoted is kept (it is part of the tree): a bare value stays bare. With a field registry, fields are written under
their canonical names (an alias or another case resolved), so two queries that differ only in spelling print the
same; a field the registry does not know is written as it is. A `-in` list is written `Field -in (a, "b c", 3)`:
one comma and one space between values.
"""

from orchjobs.query.ast import And, Comparison, Membership, Node, Not, Or
from orchjobs.query.fields import FieldRegistry
from orchjobs.query.parser import KEYWORDS

# What ends a bare value when it is read back (docs/query-language.md, `bare`).
_BARE_STOPS = frozenset("()\"'")
# What ends a bare value inside a `-in` list.
_LIST_STOPS = _BARE_STOPS | {","}


def to_text(node: Node | None, registry: FieldRegistry | None = None) -> str:
    """The canonical query text of `node`; the empty string for no filter."""
    if node is None:
        return ""
    return _node(node, registry)


def _node(node: Node, registry: FieldRegistry | None) -> str:
    if isinstance(node, Comparison):
        return _comparison(node, registry)
    if isinstance(node, Membership):
        items = ", ".join(_literal(item.value, item.quoted, _LIST_STOPS) for item in node.values)
        return f"{_field_name(node.field, registry)} {node.op.lower()} ({items})"
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


def _field_name(name: str, registry: FieldRegistry | None) -> str:
    field = registry.find(name) if registry is not None else None
    return field.name if field is not None else name


def _comparison(node: Comparison, registry: FieldRegistry | None) -> str:
    value = "NULL" if node.value is None else _literal(node.value, node.quoted, _BARE_STOPS)
    return f"{_field_name(node.field, registry)} {node.op.lower()} {value}"


def _literal(value: str, quoted: bool, stops: frozenset[str]) -> str:
    if not quoted and _reads_back_bare(value, stops):
        return value
    return '"' + value.replace('"', '""') + '"'


def _reads_back_bare(value: str, stops: frozenset[str]) -> bool:
    """Whether `value`, written unquoted, is read back as the same bare value (not cut short, not a keyword)."""
    return bool(value) and value.upper() not in KEYWORDS and not any(char.isspace() or char in stops for char in value)
