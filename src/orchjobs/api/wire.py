"""Command's JSON: PascalCase keys, integer enums, UTC times ending in Z, absent values omitted (each route module
renders its own rows into that).

Serialized with orjson rather than FastAPI's jsonable_encoder, which costs milliseconds per page.
"""

from functools import lru_cache
from typing import Any

import orjson
from starlette.responses import Response

# Naive datetimes are UTC here (SQLite returns them naive); both kinds come out as `…Z`.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_IMMEDIATE = orjson.Fragment(b'{"Immediate":true}')


@lru_cache(maxsize=4096)
def schedule_fragment(text: str | None) -> orjson.Fragment:
    """A stored schedule as ready-made JSON. Clients crash on a null Schedule, so Immediate says so."""
    if not text:
        return _IMMEDIATE
    # Round-trip once per distinct schedule, so a malformed stored value cannot corrupt a response.
    return orjson.Fragment(orjson.dumps(orjson.loads(text)))


def dumps(content: Any) -> bytes:
    """`content` as the JSON every answer uses (times as `…Z`)."""
    return orjson.dumps(content, option=_OPTIONS)


def json_response(content: Any, *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=_OPTIONS),
        status_code=status_code,
        media_type="application/json; charset=utf-8",
    )
