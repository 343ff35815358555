"""Discovery, as orchjobs defines it (docs/orchestrator-protocol.md "Discovery"): a Discovery job tells an
orchestrator where to look for certificate stores of one type, the orchestrator uploads the paths it found to
`Jobs/Discovery`, and each new path becomes an unapproved certificate store.

Keyfactor's C orchestrator declares PEM discovery but does not do it and the Universal Orchestrator's wire format is
not public, so these are our rules; the server and the reference orchestrator both read them from here.
"""

from dataclasses import dataclass
from typing import Any

# The most paths one upload may carry; the reference orchestrator stops looking at this many.
MAX_LOCATIONS = 10_000
# The longest path a store may have (certificate_store.store_path).
MAX_LOCATION_LENGTH = 1024
MAX_CLIENT_MACHINE = 255
# How deep below a directory named in Dirs the reference orchestrator looks.
MAX_DEPTH = 32
# The extensions looked for when a job names none, by the store type's short name.
DEFAULT_EXTENSIONS: dict[str, tuple[str, ...]] = {"PEM": ("pem", "crt", "cer"), "JKS": ("jks",)}
# The fields of the `Job` object of a discovery run's configuration, in the order they are answered.
LIST_FIELDS = ("Dirs", "IgnoredDirs", "Extensions", "NamePatterns")
FLAG_FIELDS = ("SymLinks", "Compatibility")


# How many refused locations a run's message names (the rest are counted), and how long that note may grow over
# several uploads of one run.
NAMED_REFUSALS = 5
MAX_REFUSAL_NOTE = 2000


@dataclass(frozen=True)
class Locations:
    """What one upload carries: the paths to record, each once, in the order sent, and why each other entry was
    refused (an entry that is not a path: no text, too long, a control character such as NUL)."""

    paths: tuple[str, ...]
    refused: tuple[str, ...] = ()


def refusal_note(locations: Locations) -> str:
    """The sentence the run's message gains when some locations were refused: how many, and why for the first few."""
    count = len(locations.refused)
    total = count + len(locations.paths)
    named = "; ".join(locations.refused[:NAMED_REFUSALS])
    more = f"; and {count - NAMED_REFUSALS} more" if count > NAMED_REFUSALS else ""
    return f"Discovery refused {count} of the {total} locations uploaded: {named}{more}."


def add_note(existing: str | None, note: str) -> str:
    """A run's notes so far and one more, within MAX_REFUSAL_NOTE characters (a run may upload many times)."""
    combined = f"{existing} {note}" if existing else note
    return combined if len(combined) <= MAX_REFUSAL_NOTE else combined[: MAX_REFUSAL_NOTE - 1] + "…"


def split_list(value: Any) -> tuple[str, ...]:
    """The items of a comma-separated list (or of a JSON list of strings), trimmed, empty ones left out."""
    if isinstance(value, list):
        items = [item for item in value if isinstance(item, str)]
    elif isinstance(value, str):
        items = value.split(",")
    else:
        items = []
    return tuple(item.strip() for item in items if item.strip())


def flag(value: Any) -> bool:
    """A yes/no job field: `true`, `"true"` (any case) or `1` mean yes; anything else no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return isinstance(value, int) and value == 1


def client_machine(value: Any, default: str) -> str:
    """The machine the discovered stores are on: the job's ClientMachine (a remote server the orchestrator reaches)
    when it names one that fits, else the orchestrator's own."""
    if isinstance(value, str) and value.strip() and len(value.strip()) <= MAX_CLIENT_MACHINE:
        return value.strip()
    return default
