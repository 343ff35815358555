"""The Command-style query language: parse a query string, compile it to a SQL condition.

    node = parse('Result -eq "Failure" AND OperationStart -ge %TODAY-7%')
    condition = compile_where(node, JOB_HISTORY_FIELDS, job_history.c, now=now)

The grammar and semantics are documented in docs/query-language.md.
"""

from orchjobs.query.ast import And, Comparison, ListValue, Membership, Node, Not, Or
from orchjobs.query.fields import JOB_HISTORY_FIELDS, FieldKind, FieldRegistry, QueryField
from orchjobs.query.parser import parse
from orchjobs.query.printer import to_text
from orchjobs.query.sql import compile_where, describe

__all__ = [
    "JOB_HISTORY_FIELDS",
    "And",
    "Comparison",
    "FieldKind",
    "FieldRegistry",
    "ListValue",
    "Membership",
    "Node",
    "Not",
    "Or",
    "QueryField",
    "compile_where",
    "describe",
    "parse",
    "to_text",
]
