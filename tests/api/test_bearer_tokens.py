"""OAuth 2.0 bearer tokens on the admin API, against a real OpenID Connect provider process (tests/oidc_provider.py):
client-credentials tokens it issues are accepted; tokens that are expired, not yet valid, for another audience, signed
by an unknown key, unsigned (`alg: none`), HMAC-signed, from an untrusted issuer, or malformed are a 401 in Command's
error shape; the provider's key rotation is followed, and its key set is not fetched more often than allowed. A
token's identity (its configured claim) holds the roles an administrator gave it, and those its roles claim names; an
identity without any is signed in and permitted nothing.

The app runs in process with a clock the test moves (expiry and the refetch interval are judged by the app's clock);
the provider is a process of its own, shared by the module's tests.
"""

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.app import create_app
from orchjobs.settings import OAuthIssuer, Settings
from orchjobs.store import security
from tests.conftest import SteppingClock, api_client
from tests.live import API_HEADERS, free_port
from tests.oidc_provider import AUDIENCE, ELSEWHERE, GO_CLIENT, SDK_CLIENT, OidcProvider, running_provider, unsigned

HISTORY = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
APPROVE = "/KeyfactorAPI/Agents/Approve"
ENDPOINTS = "/KeyfactorAPI/Status/Endpoints"
AUTHENTICATION_CODE = "0xA0110011"
IDP_UNAVAILABLE_CODE = "0xA0110061"
REFETCH_SECONDS = 30


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


def trusting(settings: Settings, *issuers: OAuthIssuer, **overrides: Any) -> Settings:
    return settings.model_copy(update={"oauth_issuers": list(issuers), **overrides})


def issuer_of(provider: OidcProvider, **overrides: Any) -> OAuthIssuer:
    return OAuthIssuer(issuer=provider.issuer, audience=AUDIENCE, roles_claim="realm_access.roles", **overrides)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


def give_roles(engine: Engine, account_name: str, *role_names: str) -> None:
    """What an administrator does for a client of the provider (docs/security.md): the identity, holding roles."""
    with engine.begin() as conn:
        identity = security.ensure_identity(
            conn, account_name=account_name, identity_type="User", now=datetime.now(UTC)
        )
        security.grant_roles(conn, identity_id=identity, role_ids=security.role_ids(conn, names=role_names).values())


@pytest.fixture
def auditors(engine: Engine) -> None:
    """Both clients of the provider are Auditors here."""
    give_roles(engine, SDK_CLIENT.client_id, "Auditor")
    give_roles(engine, GO_CLIENT.client_id, "Auditor")


@pytest.fixture
def app(settings: Settings, provider: OidcProvider, clock: SteppingClock, auditors: None) -> Iterator[TestClient]:
    """The app trusting the provider, with no credentials of its own: each test sends its Authorization header."""
    configured = trusting(settings, issuer_of(provider), oauth_jwks_refetch_seconds=REFETCH_SECONDS)
    with api_client(configured, auth=None, clock=clock) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: Any, message_part: str, *, status: int = 401, code: str = AUTHENTICATION_CODE) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"}
    assert body["ErrorCode"] == code
    assert message_part in body["Message"]


@pytest.mark.parametrize("client", [SDK_CLIENT, GO_CLIENT], ids=["client_secret_post", "client_secret_basic"])
def test_a_client_credentials_token_of_the_provider_is_accepted(
    app: TestClient, provider: OidcProvider, client: Any
) -> None:
    response = app.get(HISTORY, headers=bearer(provider.token(client)))
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_the_token_is_judged_by_the_apps_clock_with_the_configured_skew(
    app: TestClient, provider: OidcProvider, clock: SteppingClock
) -> None:
    token = provider.token(exp="1")  # one minute
    assert app.get(HISTORY, headers=bearer(token)).status_code == 200
    clock.advance(seconds=60 + 50)  # past exp, within the 60 s skew
    assert app.get(HISTORY, headers=bearer(token)).status_code == 200
    clock.advance(seconds=20)
    assert_refused(app.get(HISTORY, headers=bearer(token)), "has expired")


def _another_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "not-the-providers"})


def _hs256_with_public_key(provider: OidcProvider) -> str:
    """The old algorithm-confusion attack: HMAC-signed with the provider's public key as the secret."""
    kid, key = provider.current_key()
    secret = key.as_pem(private=False)
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = ".".join(_b64(json.dumps(part).encode()) for part in (header, provider.claims()))
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _now(clock: SteppingClock) -> int:
    return int(clock.now.timestamp())


BAD_TOKENS: dict[str, tuple[Callable[[OidcProvider, SteppingClock], str], str]] = {
    "expired": (lambda p, c: p.mint(p.claims(iat=_now(c) - 7200, nbf=_now(c) - 7200, exp=_now(c) - 3600)), "expired"),
    "not yet valid": (lambda p, c: p.mint(p.claims(nbf=_now(c) + 600)), "not valid yet"),
    "issued in the future": (lambda p, c: p.mint(p.claims(iat=_now(c) + 600)), "issued in the future"),
    "another audience (from the provider)": (lambda p, c: p.token(resource=ELSEWHERE), "another audience"),
    "another audience (minted)": (lambda p, c: p.mint(p.claims(aud=["account", "other"])), "another audience"),
    "no audience": (lambda p, c: p.mint(p.claims(aud=None)), "lacks the claims"),
    "no expiry": (lambda p, c: p.mint(p.claims(exp=None)), "lacks the claims"),
    "no subject": (lambda p, c: p.mint(p.claims(sub=None)), "no usable sub claim"),
    "an unknown key": (
        lambda p, c: p.mint(p.claims(), key=_another_key(), kid="not-the-providers"),
        "does not publish",
    ),
    "another key under the provider's kid": (lambda p, c: p.mint(p.claims(), key=_another_key()), "does not verify"),
    "alg none": (lambda p, c: unsigned(p.claims()), "algorithm is not accepted"),
    "HS256 with the public key": (lambda p, c: _hs256_with_public_key(p), "algorithm is not accepted"),
    "an untrusted issuer": (lambda p, c: p.mint(p.claims(iss="https://evil.example")), "not one this server trusts"),
    "a tampered payload": (lambda p, c: _tampered(p), "does not verify"),
}


def _tampered(provider: OidcProvider) -> str:
    header, _payload, signature = provider.mint(provider.claims()).split(".")
    return ".".join((header, _b64(json.dumps(provider.claims(sub="admin")).encode()), signature))


@pytest.mark.parametrize("name", BAD_TOKENS)
def test_a_bad_token_is_a_401_in_commands_shape(
    app: TestClient, provider: OidcProvider, clock: SteppingClock, name: str
) -> None:
    make, message = BAD_TOKENS[name]
    assert_refused(app.get(HISTORY, headers=bearer(make(provider, clock))), message)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "....", "e30.e30.", "bm90IGpzb24.e30.c2ln", "W10.W10.c2ln", "x" * 20000, "é.é.é"],
    ids=[
        "empty",
        "one-part",
        "two-parts",
        "garbage",
        "dots",
        "empty-header",
        "not-json",
        "json-arrays",
        "20kB",
        "utf8",
    ],
)
def test_a_malformed_token_is_a_401(app: TestClient, token: str) -> None:
    response = app.get(HISTORY, headers={b"Authorization": f"Bearer {token}".encode()})
    assert response.status_code == 401, response.text
    assert response.json()["ErrorCode"] == AUTHENTICATION_CODE


def test_a_refused_token_changes_nothing(app: TestClient, provider: OidcProvider) -> None:
    expired = provider.mint(provider.claims(exp=1))
    response = app.post(
        "/KeyfactorAPI/Agents/Approve", json=["00000000-0000-0000-0000-000000000001"], headers=bearer(expired)
    )
    assert_refused(response, "expired")


def test_the_providers_key_rotation_is_followed(app: TestClient, provider: OidcProvider, clock: SteppingClock) -> None:
    assert app.get(HISTORY, headers=bearer(provider.token())).status_code == 200
    fetched = provider.jwks_fetches()
    new_kid = provider.rotate_keys()
    clock.advance(seconds=REFETCH_SECONDS + 1)
    token = provider.token()
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")).get("kid") == new_kid
    assert app.get(HISTORY, headers=bearer(token)).status_code == 200
    assert provider.jwks_fetches() == fetched + 1
    # Tokens of the key it replaced stay good while the provider still publishes it.
    assert app.get(HISTORY, headers=bearer(provider.mint(provider.claims()))).status_code == 200


def test_unknown_key_ids_refetch_the_key_set_at_most_once_per_interval(
    app: TestClient, provider: OidcProvider, clock: SteppingClock
) -> None:
    assert app.get(HISTORY, headers=bearer(provider.token())).status_code == 200
    fetched = provider.jwks_fetches()
    stranger = _another_key()
    for attempt in range(5):
        token = provider.mint(provider.claims(), key=stranger, kid=f"made-up-{attempt}")
        assert_refused(app.get(HISTORY, headers=bearer(token)), "does not publish")
        clock.advance(seconds=1)
    assert provider.jwks_fetches() == fetched  # the set was fetched less than the interval ago
    clock.advance(seconds=REFETCH_SECONDS)
    token = provider.mint(provider.claims(), key=stranger, kid="made-up-late")
    assert_refused(app.get(HISTORY, headers=bearer(token)), "does not publish")
    assert_refused(app.get(HISTORY, headers=bearer(token)), "does not publish")
    assert provider.jwks_fetches() == fetched + 1
    # Known keys never wait for the interval.
    assert app.get(HISTORY, headers=bearer(provider.token())).status_code == 200


def test_the_key_set_is_fetched_again_once_it_is_old(
    settings: Settings, provider: OidcProvider, auditors: None
) -> None:
    clock = SteppingClock()
    configured = trusting(settings, issuer_of(provider), oauth_jwks_max_age_seconds=600)
    with api_client(configured, auth=None, clock=clock) as client:
        token = provider.token()
        assert client.get(HISTORY, headers=bearer(token)).status_code == 200
        fetched = provider.jwks_fetches()
        assert client.get(HISTORY, headers=bearer(token)).status_code == 200
        clock.advance(seconds=601)
        token = provider.token()
        assert client.get(HISTORY, headers=bearer(token)).status_code == 200
        assert provider.jwks_fetches() == fetched + 1


def test_a_configured_jwks_uri_skips_discovery(settings: Settings, provider: OidcProvider, auditors: None) -> None:
    issuer = issuer_of(provider, jwks_uri=provider.issuer + "/.well-known/jwks.json")
    discovered = provider.requests_to("/.well-known/openid-configuration")
    with api_client(trusting(settings, issuer), auth=None) as client:
        assert client.get(HISTORY, headers=bearer(provider.token())).status_code == 200
    assert provider.requests_to("/.well-known/openid-configuration") == discovered


def test_a_discovery_document_for_another_issuer_is_not_believed(settings: Settings, provider: OidcProvider) -> None:
    # Configured with a trailing slash, the issuer finds the provider's document, which names the issuer without it.
    issuer = provider.issuer + "/"
    with api_client(trusting(settings, OAuthIssuer(issuer=issuer, audience=AUDIENCE)), auth=None) as client:
        token = provider.mint(provider.claims(iss=issuer))
        assert_refused(
            client.get(HISTORY, headers=bearer(token)), "names another issuer", status=503, code=IDP_UNAVAILABLE_CODE
        )


def test_an_unreachable_provider_is_a_503_that_says_so(settings: Settings, provider: OidcProvider) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    configured = trusting(settings, OAuthIssuer(issuer=gone, audience=AUDIENCE), oauth_fetch_timeout_seconds=2)
    with api_client(configured, auth=None) as client:
        token = provider.mint(provider.claims(iss=gone))
        for _ in range(2):  # the second is answered from the failure, without trying again at once
            response = client.get(HISTORY, headers=bearer(token))
            assert_refused(response, "could not be fetched", status=503, code=IDP_UNAVAILABLE_CODE)
            assert gone in response.json()["Message"]


def test_a_failed_fetch_is_not_tried_again_before_the_interval(
    settings: Settings, provider: OidcProvider, clock: SteppingClock
) -> None:
    missing = "/no-such-jwks.json"
    issuer = issuer_of(provider, jwks_uri=provider.issuer + missing)
    before = provider.requests_to(missing)
    with api_client(
        trusting(settings, issuer, oauth_jwks_refetch_seconds=REFETCH_SECONDS), auth=None, clock=clock
    ) as c:
        for _ in range(3):
            response = c.get(HISTORY, headers=bearer(provider.token()))
            assert_refused(response, "answered 404", status=503, code=IDP_UNAVAILABLE_CODE)
        assert provider.requests_to(missing) == before + 1
        clock.advance(seconds=REFETCH_SECONDS + 1)
        assert c.get(HISTORY, headers=bearer(provider.token())).status_code == 503
        assert provider.requests_to(missing) == before + 2


def test_keys_fetched_before_keep_working_while_the_provider_is_away(
    settings: Settings, engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    give_roles(engine, SDK_CLIENT.client_id, "Auditor")
    with ExitStack() as stack:
        with running_provider(tmp_path) as own_provider:
            configured = trusting(settings, issuer_of(own_provider), oauth_jwks_max_age_seconds=60)
            app = stack.enter_context(api_client(configured, auth=None, clock=clock))
            token = own_provider.token()
            assert app.get(HISTORY, headers=bearer(token)).status_code == 200  # its keys fetched while it is up
            stranger = own_provider.mint(own_provider.claims(), key=_another_key(), kid="after-the-outage")
        clock.advance(seconds=120)  # the keys are old now, and the provider is gone
        assert app.get(HISTORY, headers=bearer(token)).status_code == 200
        response = app.get(HISTORY, headers=bearer(stranger))
        assert_refused(response, "could not be fetched", status=503, code=IDP_UNAVAILABLE_CODE)


def test_concurrent_first_tokens_share_one_fetch(settings: Settings, provider: OidcProvider, auditors: None) -> None:
    app = create_app(trusting(settings, issuer_of(provider)))
    token = provider.token()
    fetched = provider.jwks_fetches()

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orchjobs", headers=API_HEADERS) as client:
            responses = await asyncio.gather(*(client.get(HISTORY, headers=bearer(token)) for _ in range(20)))
        return [response.status_code for response in responses]

    assert asyncio.run(burst()) == [200] * 20
    assert provider.jwks_fetches() == fetched + 1


def test_bearer_tokens_are_refused_when_no_issuer_is_configured(settings: Settings, provider: OidcProvider) -> None:
    with api_client(settings, auth=None) as client:
        assert_refused(client.get(HISTORY, headers=bearer(provider.token())), "Bearer tokens are not enabled")


def test_a_token_holds_the_roles_of_its_identity(app: TestClient, provider: OidcProvider, engine: Engine) -> None:
    token = provider.token()  # sdk-client, an Auditor: may read, may not approve
    assert app.get(HISTORY, headers=bearer(token)).status_code == 200
    response = app.post(APPROVE, json=["00000000-0000-0000-0000-000000000001"], headers=bearer(token))
    assert response.status_code == 403, response.text
    assert response.json()["ErrorCode"] == "0xA0110012"
    give_roles(engine, SDK_CLIENT.client_id, "Operator")  # counts at once, for the token already issued
    assert app.get(ENDPOINTS, headers=bearer(token)).status_code == 200


def test_an_identity_without_roles_is_signed_in_and_permitted_nothing(app: TestClient, provider: OidcProvider) -> None:
    token = provider.mint(provider.claims(subject="nobody-gave-me-roles"))
    for method, path in (("GET", HISTORY), ("GET", ENDPOINTS), ("POST", APPROVE)):
        response = app.request(method, path, headers=bearer(token), json=[] if method == "POST" else None)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["ErrorCode"] == "0xA0110012"
        assert "nobody-gave-me-roles" in response.json()["Message"]


def test_the_roles_claim_brings_roles_along(app: TestClient, provider: OidcProvider) -> None:
    auditor = provider.token(GO_CLIENT, extra=json.dumps({"realm_access": {"roles": ["Operator", "No Such Role"]}}))
    assert app.get(ENDPOINTS, headers=bearer(auditor)).status_code == 200
    stranger = provider.mint(provider.claims(subject="ci-pipeline", realm_access={"roles": ["auditor"]}))
    assert app.get(HISTORY, headers=bearer(stranger)).status_code == 200  # role names in any case
    assert app.post(APPROVE, json=[], headers=bearer(stranger)).status_code == 403
    unknown = provider.mint(provider.claims(subject="ci-pipeline", realm_access={"roles": ["No Such Role"]}))
    assert app.get(HISTORY, headers=bearer(unknown)).status_code == 403


def test_the_identity_claim_and_prefix_are_configurable(
    settings: Settings, provider: OidcProvider, engine: Engine
) -> None:
    # Keycloak puts the client id in azp/client_id; the prefix keeps the provider's names apart from local users.
    issuer = issuer_of(provider, identity_claim="client_id", account_prefix="idp:")
    give_roles(engine, "idp:" + GO_CLIENT.client_id, "Auditor")
    with api_client(trusting(settings, issuer), auth=None) as client:
        assert client.get(HISTORY, headers=bearer(provider.token(GO_CLIENT))).status_code == 200
        sdk = client.get(HISTORY, headers=bearer(provider.token(SDK_CLIENT)))
        assert sdk.status_code == 403 and "idp:sdk-client" in sdk.json()["Message"]
        no_claim = client.get(HISTORY, headers=bearer(provider.mint(provider.claims())))
        assert_refused(no_claim, "no usable client_id claim")


def test_basic_credentials_still_work_beside_bearer_tokens(app: TestClient) -> None:
    response = app.get(HISTORY, auth=("admin", "admin-password"))
    assert response.status_code == 200
