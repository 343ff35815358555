"""Properties of the query language, on generated input (hypothesis, derandomized: the same cases on every run).

- A tree printed canonically (`to_text`) parses back to itself, over the real field catalogue.
- Whatever the text (any unicode, lone surrogates, NUL, very long, deeply nested), `parse` gives a tree, None (no
  filter) or a QuerySyntaxError whose position lies within the text; and a tree that compiles against a registry
  does so without any other exception either.
"""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from orchjobs.errors import QuerySyntaxError
from orchjobs.query import JOB_HISTORY_FIELDS, And, Comparison, FieldRegistry, Node, Not, Or, compile_where, parse
from orchjobs.query import fields as field_catalogue
from orchjobs.query.ast import ListValue, Membership
from orchjobs.query.parser import KEYWORDS, LIST_OPERATORS, MAX_NESTING, MAX_TERMS, OPERATORS
from orchjobs.query.printer import to_text
from orchjobs.store.tables import job_history

pytestmark = pytest.mark.reliability

PROPERTY = settings(
    derandomize=True,  # a fixed seed: CI runs the same cases every time
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=list(HealthCheck),
)
NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
REGISTRIES = [value for value in vars(field_catalogue).values() if isinstance(value, FieldRegistry)]
FIELD_NAMES = sorted({name for registry in REGISTRIES for f in registry.fields for name in (f.name, *f.aliases)})

# -- trees ---------------------------------------------------------------------------------------------------

# Characters a value may hold at all: no NUL, no lone surrogate (the parser refuses both anywhere).
_value_chars = st.characters(codec="utf-8", exclude_characters="\0")
quoted_values = st.text(_value_chars, max_size=12)
bare_values = st.text(
    st.characters(codec="utf-8", exclude_characters="\0()\"'").filter(lambda char: not char.isspace()),
    min_size=1,
    max_size=12,
).filter(lambda word: word.upper() not in KEYWORDS)
field_names = st.sampled_from(FIELD_NAMES).flatmap(
    lambda name: st.sampled_from([name, name.lower(), name.upper()])  # names ignore case; the tree keeps it
)
SCALAR_OPERATORS = [op for op in OPERATORS if op not in LIST_OPERATORS]
# A bare value in a list also ends at a comma: one that holds a comma can only be written quoted, so it is a quoted
# value of the tree, not a bare one.
list_values = st.one_of(
    st.builds(lambda v: ListValue(v, quoted=True), quoted_values),
    st.builds(ListValue, bare_values.filter(lambda word: "," not in word)),
)
comparisons = st.one_of(
    st.builds(
        lambda f, op, v: Comparison(f, op, v, quoted=True),
        field_names,
        st.sampled_from(SCALAR_OPERATORS),
        quoted_values,
    ),
    st.builds(lambda f, op, v: Comparison(f, op, v), field_names, st.sampled_from(SCALAR_OPERATORS), bare_values),
    st.builds(lambda f, op: Comparison(f, op, None), field_names, st.sampled_from(["-eq", "-ne"])),
    st.builds(
        lambda f, op, values: Membership(f, op, tuple(values)),
        field_names,
        st.sampled_from(LIST_OPERATORS),
        st.lists(list_values, min_size=1, max_size=5),
    ),
)


def _combined(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    items = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(st.builds(Not, children), items.map(And), items.map(Or))


trees = st.recursive(comparisons, _combined, max_leaves=10)


def _nesting(node: Node, *, group: bool = False) -> int:
    """Levels the parser counts: each NOT, and each parenthesized group the printer writes."""
    if isinstance(node, Comparison | Membership):
        return 0
    if isinstance(node, Not):
        return 1 + _nesting(node.item, group=True)
    here = 1 if group else 0
    return here + max(_nesting(item, group=True) for item in node.items)


def _terms(node: Node) -> int:
    if isinstance(node, Comparison | Membership):
        return 1
    if isinstance(node, Not):
        return _terms(node.item)
    return sum(_terms(item) for item in node.items)


@PROPERTY
@given(trees)
def test_a_printed_tree_parses_back_to_itself(tree: Node) -> None:
    # Over-approximates the nesting (an Or inside an Or's item list is grouped, an And inside an Or is not), which
    # only skips a few trees.
    if _nesting(tree) > MAX_NESTING or _terms(tree) > MAX_TERMS:
        return
    text = to_text(tree)
    assert parse(text) == tree, text
    assert to_text(parse(text)) == text  # canonical: printing again changes nothing


@PROPERTY
@given(trees, st.sampled_from(REGISTRIES))
def test_with_a_registry_the_text_reads_back_under_canonical_names(tree: Node, registry: FieldRegistry) -> None:
    if _nesting(tree) > MAX_NESTING or _terms(tree) > MAX_TERMS:
        return
    text = to_text(tree, registry)
    reparsed = parse(text)
    assert reparsed is not None
    assert to_text(reparsed, registry) == text
    for comparison in _comparisons(reparsed):
        known = registry.find(comparison.field)
        assert known is None or comparison.field == known.name


def _comparisons(node: Node) -> list[Comparison | Membership]:
    if isinstance(node, Comparison | Membership):
        return [node]
    if isinstance(node, Not):
        return _comparisons(node.item)
    return [found for item in node.items for found in _comparisons(item)]


# -- arbitrary text ------------------------------------------------------------------------------------------

TOKENS = [
    *OPERATORS, "AND", "OR", "NOT", "NULL", "and", "not", "(", ")", '"', "'", '""', "''", " ", "\t", "\0",
    "\ud800", "-", "-eq", "%TODAY%", "%TODAY-1%", "2025-01-01", "9" * 25, "é", "€", "😀", "\u2028", "\u00a0",
    "-in", "-notin", "(1, 2)", ",", "%NOW-4h%", "%NOW-4y%", "%ME%",
]  # fmt: skip
# Every code point: lone surrogates (category Cs, left out by default) and NUL included, the syntax's own often.
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("\0()\"' -"))
any_text = st.text(any_char, max_size=60)
token_soup = st.lists(st.one_of(st.sampled_from(TOKENS), st.sampled_from(FIELD_NAMES), any_text), max_size=20).map(
    "".join
)
well_formed = trees.map(to_text)
texts = st.one_of(
    any_text,
    token_soup,
    well_formed,
    # A query with one character more, fewer or swapped: mostly near misses.
    st.builds(lambda text, at, char: text[:at] + char + text[at + 1 :], well_formed, st.integers(0, 200), any_text),
    # Long: around the limit of 8192 bytes, in characters of one to four bytes (more bytes than characters).
    st.builds(
        lambda piece, size: piece * max(1, size // len(piece.encode())),
        st.sampled_from(["a", "é", "€", "😀", "x -eq 1 AND ", "(", 'Message -eq "€']),
        st.integers(8000, 8400),
    ),
    # Deep: parentheses or NOTs around a condition, balanced or not.
    st.builds(
        lambda opening, closing, inner: opening + inner + closing,
        st.integers(0, 200).map(lambda depth: "(" * depth),
        st.integers(0, 200).map(lambda depth: ")" * depth),
        st.one_of(well_formed, any_text),
    ),
    st.builds(lambda depth, inner: "NOT " * depth + inner, st.integers(0, 100), well_formed),
)


@PROPERTY
@given(texts)
def test_any_text_gives_a_tree_or_a_syntax_error_within_it(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text), (error.position, len(text))
        return
    if node is None:
        assert not text.strip()
        return
    # A tree compiles, or its fields and values are refused the same way, on both dialects.
    try:
        condition = compile_where(node, JOB_HISTORY_FIELDS, job_history.c, now=NOW)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text), (error.position, len(text))
        return
    condition.compile(dialect=sqlite.dialect())
    condition.compile(dialect=postgresql.dialect())
