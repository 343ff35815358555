"""The keys that sign what the service hands clients to bring back (preview tokens, continuations): one per purpose,
kept in the database so that every process signs and checks alike, read once per process."""

import threading
import weakref
from datetime import datetime

from sqlalchemy import Engine

from orchjobs.store import signing_keys
from orchjobs.store.engine import write_transaction

_keys: "weakref.WeakKeyDictionary[Engine, dict[str, bytes]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def signing_key(engine: Engine, *, purpose: str, now: datetime) -> bytes:
    """The key of `purpose`, read (or made, by the first process that needs it) once per process."""
    with _lock:
        key = _keys.get(engine, {}).get(purpose)
    if key is None:
        with write_transaction(engine, brief=True) as conn:
            key = signing_keys.get_or_create(conn, purpose=purpose, at=now)
        with _lock:
            _keys.setdefault(engine, {})[purpose] = key
    return key
