"""Project-wide invariants: every setting documented, every error class mapped to a status."""

import re
from pathlib import Path

from orchjobs import errors
from orchjobs.api.errors import status_for
from orchjobs.settings import Settings, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_variables() -> set[str]:
    """The variables that have a row of their own in docs/settings.md."""
    return set(re.findall(r"^\| `(ORCHJOBS_[A-Z0-9_]+)` \|", (DOCS / "settings.md").read_text(), re.MULTILINE))


def test_every_setting_is_documented() -> None:
    missing = [name for name in Settings.model_fields if f"ORCHJOBS_{name.upper()}" not in documented_variables()]
    assert missing == []


def test_every_variable_the_code_reads_is_documented() -> None:
    # The orchestrator's variables, `make run`'s and the test suite's are read outside Settings: find them by name.
    root = DOCS.parent
    sources = [
        *(root / "src").rglob("*.py"),
        *(root / "scripts").iterdir(),
        root / "Makefile",
        *root.glob("tests/*.py"),
    ]
    named = {name for path in sources for name in re.findall(r"ORCHJOBS_[A-Z0-9_]*[A-Z0-9]\b(?!_)", path.read_text())}
    assert "ORCHJOBS_ORCHESTRATOR_POLL_SECONDS" in named
    assert sorted(named - documented_variables()) == []


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_every_error_class_has_a_status_and_a_distinct_code() -> None:
    classes = _subclasses(errors.OrchjobsError)
    for cls in classes:
        instance = cls.__new__(cls)
        assert status_for(instance) in (400, 401, 403, 404, 409, 413, 429, 503), cls
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))


def test_every_error_class_has_a_status_on_the_orchestrator_protocol() -> None:
    # The C agent retries every status >= 300: a refusal it should not retry is a 200 in the envelope.
    for cls in _subclasses(errors.OrchjobsError):
        instance = cls.__new__(cls)
        expected = (
            413  # a body too large to read, like a body that is not JSON, is not a call the agent made
            if cls is errors.RequestTooLargeError
            else 200
            if issubclass(cls, errors.ProtocolRefusalError | errors.InvalidRequestError)
            else status_for(instance)
        )
        assert status_for(instance, protocol=True) == expected, cls


def test_settings_come_from_orchjobs_variables() -> None:
    settings = load_settings({"ORCHJOBS_DATABASE_URL": "sqlite:///x.db", "ORCHJOBS_MAX_BULK_IDS": "7", "PATH": "/bin"})
    assert settings.database_url == "sqlite:///x.db"
    assert settings.max_bulk_ids == 7
