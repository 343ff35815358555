"""Whole numbers as callers write them: a JSON integer, or the text of one, as .NET binds "42" to an int. The one
reader for request bodies, job-field values, application settings and query values."""

import re

# At most 40 digits: far past any integer a caller may give, and short of Python's refusal to convert thousands of
# digits (a ValueError, which must not reach a caller as a 500).
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}", re.ASCII)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def lenient_int(value: object) -> int | None:
    """An integer, or a string of one (spaces around it allowed, ASCII digits only, at most 40 of them); None for
    anything else, bools and fractions included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None
