"""Every admin-API route names the permission it needs, in one table that the authorizing dependency enforces and
docs/permissions.md lists."""

from datetime import UTC, datetime
from pathlib import Path

from fastapi.routing import APIRoute
from sqlalchemy import Engine

from orchjobs.api import paths
from orchjobs.api.permissions import PERMISSIONS
from orchjobs.app import ROUTERS
from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from tests.conftest import api_client

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
OPERATOR = ("operator", "operator-password")


def admin_routes() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith(paths.API)
        for method in route.methods
    }


def test_every_admin_route_names_its_permissions_and_the_docs_list_them() -> None:
    assert set(PERMISSIONS) == admin_routes()
    text = DOCS.read_text()
    for (method, path), permissions in PERMISSIONS.items():
        row = f"| {method} | `{path}` | {', '.join(f'`{permission}`' for permission in permissions)} |"
        assert row in text, row


def test_an_operator_may_not_change_settings(settings: Settings, engine: Engine) -> None:
    create_user(engine, username=OPERATOR[0], password=OPERATOR[1], roles=["Operator"], now=datetime.now(UTC))
    with api_client(settings, auth=OPERATOR) as operator:
        assert operator.get(f"{paths.APP_SETTINGS}/JobRetries").json()["Value"] == "3"
        refused = operator.put(f"{paths.APP_SETTINGS}/JobRetries/Set", json={"Value": "9"})
        assert refused.status_code == 403
        assert refused.json() == {
            "ErrorCode": "0xA0110012",
            "Message": "'operator' does not hold /application_settings/modify/, which this call needs.",
        }
        assert operator.get(f"{paths.APP_SETTINGS}/JobRetries").json()["Value"] == "3"
        assert operator.get(f"{paths.ORCHESTRATOR_JOBS}/ScheduledJobs").status_code == 200
    with api_client(settings) as admin:
        assert admin.put(f"{paths.APP_SETTINGS}/JobRetries/Set", json={"Value": "3"}).status_code == 200
