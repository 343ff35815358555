"""The published clients' own OAuth 2.0 paths reach a real orchjobs process with tokens of a real OpenID Connect
provider process (tests/oidc_provider.py), on both databases:

* `keyfactor-command-sdk` 11.0.0a1, configured only through COMMAND_IDP_TOKENURL, COMMAND_IDP_CLIENTID and
  COMMAND_IDP_CLIENTSECRET (scripts/command_v11_oauth.py): it posts its id and secret in the token request's body.
* kfutil, replayed (tests/kfutil.py `GoClientCredentials`): KEYFACTOR_AUTH_CLIENT_ID, _SECRET and _TOKEN_URL, the
  id and secret in a Basic header of the token request, then its login probe and a store listing with the token.
"""

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from orchjobs.store import security
from tests.clients.conftest import SCRIPT_TIMEOUT_SECONDS, SCRIPTS
from tests.factories import add_history
from tests.kfutil import GoClientCredentials, Kfutil
from tests.live import running_server
from tests.oidc_provider import AUDIENCE, GO_CLIENT, SDK_CLIENT, Client, OidcProvider, running_provider


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture(scope="module")
def oauth_server(
    module_database_url: str, provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One orchjobs process for the module, trusting the provider's tokens (ORCHJOBS_OAUTH_ISSUERS)."""
    issuers = json.dumps([{"issuer": provider.issuer, "audience": AUDIENCE}])
    environment = {"ORCHJOBS_OAUTH_ISSUERS": issuers}
    with running_server(module_database_url, tmp_path_factory.mktemp("server"), environment=environment) as url:
        yield url


@pytest.fixture
def server(oauth_server: str, shared_database: str) -> str:
    """The module's server, its database emptied for this test."""
    return oauth_server


def grant(engine: Engine, client: Client, *role_names: str) -> None:
    """What an administrator does for a client of the provider before it calls orchjobs (docs/security.md): the
    client's identity, holding roles."""
    with engine.begin() as conn:
        identity = security.ensure_identity(
            conn, account_name=client.client_id, identity_type="User", now=datetime.now(UTC)
        )
        security.grant_roles(conn, identity_id=identity, role_ids=security.role_ids(conn, names=role_names).values())


def run_sdk(python: str, server: str, provider: OidcProvider, client: Client) -> Any:
    command = [
        python, str(SCRIPTS / "command_v11_oauth.py"), server, provider.token_url, client.client_id, client.secret,
    ]  # fmt: skip
    completed = subprocess.run(command, timeout=SCRIPT_TIMEOUT_SECONDS, capture_output=True, text=True)
    assert completed.returncode == 0, f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    return json.loads(completed.stdout)


def test_the_sdk_gets_a_client_credentials_token_and_reaches_orchjobs_with_it(
    clients_python: str, server: str, provider: OidcProvider, engine: Engine
) -> None:
    add_history(engine)
    grant(engine, SDK_CLIENT, "Auditor")
    document = run_sdk(clients_python, server, provider, SDK_CLIENT)
    assert document["authorization_scheme"] == "Bearer"
    assert document["history"]["status_code"] == 200, document
    assert document["history"]["items"] == 1
    assert document["agents"]["status_code"] == 200, document


def test_the_sdks_token_opens_nothing_until_its_identity_holds_a_role(
    clients_python: str, server: str, provider: OidcProvider
) -> None:
    document = run_sdk(clients_python, server, provider, SDK_CLIENT)
    assert document["history"]["status_code"] == 403
    assert json.loads(document["history"]["content"])["ErrorCode"] == "0xA0110012"


def test_kfutils_client_credentials_token_request_works_against_the_provider_and_orchjobs(
    server: str, provider: OidcProvider, engine: Engine
) -> None:
    grant(engine, GO_CLIENT, "Auditor")
    oauth = GoClientCredentials(provider.token_url, GO_CLIENT.client_id, GO_CLIENT.secret)
    kfutil = Kfutil(server, "", "", oauth=oauth)
    kfutil.login()
    assert kfutil.list_certificate_stores(None) == []
    assert {exchange.status for exchange in kfutil.exchanges} == {200}
