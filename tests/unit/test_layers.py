"""Imports point inward (DESIGN §3): a module may import only the layers its package is allowed."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "orchjobs"
# Shared leaves every layer may use.
LEAVES = {"orchjobs", "orchjobs.errors", "orchjobs.settings"}
ALLOWED = {
    "domain": {"domain"},
    "query": {"domain", "query"},
    "store": {"domain", "query", "store"},
    "service": {"domain", "query", "store", "service"},
    "api": {"domain", "service", "api"},
    "cli": {"service", "app", "orchestrator"},
    # The reference orchestrator talks to the service over HTTP only.
    "orchestrator": {"orchestrator", "domain"},
    "app": {"api", "service", "store"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orchjobs"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("orchjobs"))
    return found


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
