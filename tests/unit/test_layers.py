"""Imports point inward (DESIGN §3): a module may import only the layers its package is allowed, and each foreign
library stays on the floor that owns it: SQL below `service`, HTTP above it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "orchjobs"
# Shared leaves every layer may use.
LEAVES = {"orchjobs", "orchjobs.errors", "orchjobs.logs", "orchjobs.settings"}
ALLOWED = {
    "domain": {"domain"},
    "query": {"domain", "query"},
    "store": {"domain", "query", "store"},
    "service": {"domain", "query", "store", "service"},
    "api": {"domain", "service", "api"},
    "cli": {"service", "app", "orchestrator"},
    # The reference orchestrator talks to the service over HTTP only.
    "orchestrator": {"orchestrator", "domain"},
    # Calls the service makes to other systems (webhook deliveries): the service defines what it needs (a
    # `Sender`), this package sends it over HTTP, and `app` hands one to the other; so `service` stays free of
    # HTTP and `outbound` free of the database, and each can be tested alone.
    "outbound": {"outbound", "domain"},
    "app": {"api", "service", "outbound"},
}


# Libraries a layer must not import: the api reaches the database only through service functions, and the
# layers below it know nothing of HTTP.
FORBIDDEN = {
    "api": {"sqlalchemy", "alembic", "psycopg"},
    "cli": {"sqlalchemy", "alembic", "psycopg"},
    "domain": {"sqlalchemy", "fastapi", "starlette", "httpx", "uvicorn"},
    "query": {"fastapi", "starlette", "httpx", "uvicorn"},
    "store": {"fastapi", "starlette", "httpx", "uvicorn"},
    "service": {"fastapi", "starlette", "httpx", "uvicorn"},
    # The HTTP client, and nothing of the database or of the server side.
    "outbound": {"sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "uvicorn"},
}


def _imports(path: Path, *, ours: bool = True) -> set[str]:
    """Modules `path` imports: orchjobs' own, or (ours=False) the top-level names of everyone else's."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    if ours:
        return {name for name in found if name.startswith("orchjobs")}
    return {name.split(".")[0] for name in found if not name.startswith("orchjobs")}


def test_layers_import_only_inward() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        layer = relative.parts[0].removesuffix(".py")
        if layer not in ALLOWED or "migrations" in relative.parts:
            continue
        for module in _imports(path) - LEAVES:
            target = module.split(".")[1]
            if target not in ALLOWED[layer]:
                violations.append(f"{relative} imports {module}")
    assert violations == []


def test_foreign_libraries_stay_on_their_floor() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        layer = relative.parts[0].removesuffix(".py")
        if "migrations" in relative.parts:
            continue
        for library in _imports(path, ours=False) & FORBIDDEN.get(layer, set()):
            violations.append(f"{relative} imports {library}")
    assert violations == []
