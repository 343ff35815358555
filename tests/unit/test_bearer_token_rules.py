"""The pure rules of bearer tokens (domain/bearer_tokens.py): what a discovery document and a key set must say, and
how the identity and the role names are read from a token's claims."""

import pytest

from orchjobs.domain.bearer_tokens import (
    DocumentUnavailableError,
    account_name_of,
    discovery_url,
    jwks_uri_of,
    key_fits,
    role_names_of,
    signing_keys,
)
from orchjobs.settings import OAuthIssuer, load_settings

ISSUER = OAuthIssuer(issuer="https://idp.example/realms/kf", audience="orchjobs")
RSA = {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"}


def test_discovery_is_found_beside_the_issuer_with_or_without_its_trailing_slash() -> None:
    assert (
        discovery_url("https://idp.example/realms/kf")
        == "https://idp.example/realms/kf/.well-known/openid-configuration"
    )
    assert (
        discovery_url("https://tenant.auth0.example/")
        == "https://tenant.auth0.example/.well-known/openid-configuration"
    )


def test_a_discovery_document_must_name_the_issuer_it_was_fetched_for() -> None:
    document = {"issuer": ISSUER.issuer, "jwks_uri": "https://idp.example/certs"}
    assert jwks_uri_of(document, ISSUER.issuer) == "https://idp.example/certs"
    with pytest.raises(DocumentUnavailableError, match="names another issuer"):
        jwks_uri_of({**document, "issuer": "https://evil.example"}, ISSUER.issuer)
    with pytest.raises(DocumentUnavailableError, match="no http"):
        jwks_uri_of({"issuer": ISSUER.issuer, "jwks_uri": "file:///etc/passwd"}, ISSUER.issuer)
    with pytest.raises(DocumentUnavailableError, match="not a JSON object"):
        jwks_uri_of(["issuer"], ISSUER.issuer)


def test_only_public_signature_keys_of_accepted_types_are_kept_from_a_key_set() -> None:
    keys = [
        RSA,
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},  # a shared secret never verifies a bearer token
        {**RSA, "kid": "enc", "use": "enc"},
        {**RSA, "kid": "hs", "alg": "HS256"},
        {"kty": "EC", "kid": "e1", "crv": "P-256", "alg": "ES256"},
        "not a key",
    ]
    assert [key["kid"] for key in signing_keys({"keys": keys}, "jwks")] == ["r1", "e1"]
    with pytest.raises(DocumentUnavailableError, match="not a JWK set"):
        signing_keys({"keys": "r1"}, "jwks")


def test_a_key_verifies_only_the_algorithms_of_its_type_and_its_own_alg() -> None:
    assert key_fits(RSA, "RS256") and key_fits(RSA, "PS512")
    assert not key_fits(RSA, "ES256")
    assert not key_fits(RSA, "HS256")
    assert not key_fits({**RSA, "alg": "RS512"}, "RS256")


def test_the_identity_comes_from_the_configured_claim_with_the_prefix() -> None:
    claims = {"sub": "3f6c", "azp": "kfutil-ci", "realm_access": {"roles": ["Auditor"]}}
    assert account_name_of(claims, ISSUER) == "3f6c"
    keycloak = ISSUER.model_copy(update={"identity_claim": "azp", "account_prefix": "idp:"})
    assert account_name_of(claims, keycloak) == "idp:kfutil-ci"
    assert account_name_of({"azp": "x" * 252}, keycloak) is None  # 256 characters with the prefix


@pytest.mark.parametrize("value", [None, "", "   ", 42, ["a"], "x" * 256, "a\x00b"])
def test_an_identity_claim_that_is_not_a_short_string_names_no_one(value: object) -> None:
    assert account_name_of({"sub": value}, ISSUER) is None


def test_role_names_come_from_a_list_or_one_string_at_a_dotted_path() -> None:
    issuer = ISSUER.model_copy(update={"roles_claim": "realm_access.roles"})
    claims = {"realm_access": {"roles": ["Auditor", " Operator ", "Auditor", 7, "", "Nul\x00"]}}
    assert role_names_of(claims, issuer) == ("Auditor", "Operator")
    assert role_names_of({"realm_access": {"roles": "Power Users"}}, issuer) == ("Power Users",)
    assert role_names_of({"realm_access": ["Auditor"]}, issuer) == ()
    assert role_names_of({"realm_access.roles": ["Flat"]}, issuer) == ("Flat",)
    assert role_names_of(claims, ISSUER) == ()  # no roles claim configured


def test_issuers_are_read_from_json_in_the_environment_and_each_may_appear_once() -> None:
    entry = '{"issuer": "https://idp.example", "audience": "orchjobs", "roles_claim": "roles"}'
    settings = load_settings({"ORCHJOBS_OAUTH_ISSUERS": f"[{entry}]"})
    assert settings.oauth_issuers == [
        OAuthIssuer(issuer="https://idp.example", audience="orchjobs", roles_claim="roles")
    ]
    assert load_settings({}).oauth_issuers == []
    with pytest.raises(ValueError, match="once"):
        load_settings({"ORCHJOBS_OAUTH_ISSUERS": f"[{entry}, {entry}]"})
    with pytest.raises(ValueError, match="audience"):
        load_settings({"ORCHJOBS_OAUTH_ISSUERS": '[{"issuer": "https://idp.example"}]'})
