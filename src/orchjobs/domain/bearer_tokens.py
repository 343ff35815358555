"""The pure rules of bearer tokens: which signature algorithms are believed, which published keys may verify them,
what an OpenID Connect discovery document must say, and how an identity and its role names are read from the claims.

Only asymmetric algorithms are accepted: the keys come from the identity provider's public key set, and a token
signed with `none` or with an HMAC (HS256, which a careless verifier would check with the public key as the secret)
proves nothing.
"""

from collections.abc import Mapping
from typing import Any

from orchjobs.settings import OAuthIssuer

# Algorithm -> the JWK key type that can verify it.
ACCEPTED_ALGORITHMS: Mapping[str, str] = {
    **{f"{family}{bits}": "RSA" for family in ("RS", "PS") for bits in (256, 384, 512)},
    **{f"ES{bits}": "EC" for bits in (256, 384, 512)},
    "EdDSA": "OKP",
}
MAX_TOKEN_LENGTH = 16 * 1024
MAX_IDENTITY_LENGTH = 255  # an identity's account name, as security_identity holds it
MAX_ROLE_NAMES = 100
DISCOVERY_PATH = "/.well-known/openid-configuration"


class DocumentUnavailableError(Exception):
    """A discovery document or key set could not be fetched, or is not what it must be. The message says why."""


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery §4: the issuer without its trailing slash, then the well-known path."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def jwks_uri_of(document: Any, issuer: str) -> str:
    """The key set's address from a discovery document, which must name the very issuer it was fetched for
    (Discovery §4.3: otherwise a provider could speak for another)."""
    if not isinstance(document, dict):
        raise DocumentUnavailableError(f"The discovery document of {issuer} is not a JSON object.")
    if document.get("issuer") != issuer:
        raise DocumentUnavailableError(
            f"The discovery document of {issuer} names another issuer ({str(document.get('issuer'))[:200]})."
        )
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise DocumentUnavailableError(f"The discovery document of {issuer} has no http(s) jwks_uri.")
    return jwks_uri


def signing_keys(document: Any, source: str) -> list[dict[str, Any]]:
    """The keys of a JWK set that may verify a token: public keys of an accepted type, meant for signatures. A
    symmetric key (`oct`) is never used, whatever the set says."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise DocumentUnavailableError(f"{source} is not a JWK set (an object with a list of keys).")
    accepted_types = set(ACCEPTED_ALGORITHMS.values())
    return [
        key
        for key in keys
        if isinstance(key, dict)
        and key.get("kty") in accepted_types
        and key.get("use", "sig") == "sig"
        and (key.get("alg") is None or ACCEPTED_ALGORITHMS.get(key["alg"]) == key["kty"])
        and (key.get("kid") is None or isinstance(key["kid"], str))
    ]


def key_fits(key: Mapping[str, Any], algorithm: str) -> bool:
    """Whether a published key can verify a signature made with `algorithm` (its type, and its own alg if it names
    one)."""
    return ACCEPTED_ALGORITHMS.get(algorithm) == key.get("kty") and key.get("alg") in (None, algorithm)


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (`realm_access.roles`), or None. A claim whose own name holds the dots wins."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def account_name_of(claims: Mapping[str, Any], issuer: OAuthIssuer) -> str | None:
    """The identity a token speaks for: the issuer's account prefix and its identity claim, or None when the claim
    is missing, not a string, blank, holds a NUL (which PostgreSQL's text cannot) or makes too long a name."""
    value = claim_at(claims, issuer.identity_claim)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        return None
    name = issuer.account_prefix + value
    return name if len(name) <= MAX_IDENTITY_LENGTH else None


def role_names_of(claims: Mapping[str, Any], issuer: OAuthIssuer) -> tuple[str, ...]:
    """The role names a token brings along in the issuer's roles claim: a list of names, or one name as a string
    (role names may hold spaces, so a string is not split). Anything else in the claim is ignored."""
    if issuer.roles_claim is None:
        return ()
    value = claim_at(claims, issuer.roles_claim)
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    kept = dict.fromkeys(
        name.strip() for name in names if isinstance(name, str) and name.strip() and "\x00" not in name
    )
    return tuple(kept)[:MAX_ROLE_NAMES]
