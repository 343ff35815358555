"""OAuth 2.0 bearer tokens (JWTs) from the configured identity providers, verified: who they speak for and the role
names they bring along.

Each issuer's keys come from its OpenID Connect discovery document (or a configured `jwks_uri`) and are kept. A token
naming a key that is not among them refetches the key set (the provider rotated its keys), but at most once per
`refetch_seconds` per issuer, so tokens with made-up key ids cannot make this server hammer the provider; the key set
is refetched anyway once it is `max_age_seconds` old, so that keys the provider withdrew stop working. When a fetch
fails, keys fetched earlier keep working. Fetching is the `JsonFetcher`'s business (`outbound.oidc` sends it with
httpx); the service stays free of HTTP.
"""

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import JWKRegistry, Key

from orchjobs.domain.bearer_tokens import (
    ACCEPTED_ALGORITHMS,
    MAX_TOKEN_LENGTH,
    DocumentUnavailableError,
    account_name_of,
    discovery_url,
    jwks_uri_of,
    key_fits,
    role_names_of,
    signing_keys,
)
from orchjobs.errors import AuthenticationError, IdentityProviderUnavailableError
from orchjobs.settings import OAuthIssuer

NOT_ENABLED = "Bearer tokens are not enabled on this server: send Basic credentials."
MALFORMED = "The bearer token is not a well-formed signed JWT."


class JsonFetcher(Protocol):
    """GETs a URL and returns its JSON document; raises DocumentUnavailableError (with the reason) otherwise."""

    async def __call__(self, url: str) -> Any: ...


@dataclass(frozen=True)
class TokenSubject:
    """Whom a verified token speaks for: the account name (the issuer's identity claim) and the role names of its
    roles claim."""

    issuer: str
    account_name: str
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class _PublishedKey:
    jwk: Mapping[str, Any]
    key: Key


@dataclass
class _IssuerKeys:
    """One issuer's keys as last fetched, and when fetching was last tried and how it went."""

    config: OAuthIssuer
    jwks_uri: str | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    keys: list[_PublishedKey] | None = None
    fetched_at: datetime | None = None
    attempted_at: datetime | None = None
    failure: str | None = None

    def find(self, kid: str | None, algorithm: str) -> _PublishedKey | None:
        candidates = [key for key in self.keys or () if key_fits(key.jwk, algorithm)]
        if kid is None:
            return candidates[0] if len(candidates) == 1 else None
        return next((key for key in candidates if key.jwk.get("kid") == kid), None)


class TokenVerifier:
    """Verifies bearer tokens of the configured issuers. One per process, shared by every request (it keeps the
    keys); `verify` runs on the server's event loop."""

    def __init__(
        self,
        issuers: Sequence[OAuthIssuer],
        fetcher: JsonFetcher,
        *,
        clock_skew_seconds: float = 60.0,
        refetch_seconds: float = 30.0,
        max_age_seconds: float = 3600.0,
    ) -> None:
        self._issuers = {issuer.issuer: _IssuerKeys(issuer, issuer.jwks_uri) for issuer in issuers}
        self._fetcher = fetcher
        self._leeway = int(clock_skew_seconds)
        self._refetch = timedelta(seconds=refetch_seconds)
        self._max_age = timedelta(seconds=max_age_seconds)

    @property
    def enabled(self) -> bool:
        return bool(self._issuers)

    async def verify(self, token: str, *, now: datetime) -> TokenSubject:
        """The subject of a valid token; AuthenticationError (401) saying what is wrong with any other, or
        IdentityProviderUnavailableError (503) when its issuer's keys cannot be had to check it."""
        if not self._issuers:
            raise AuthenticationError(NOT_ENABLED)
        header, unverified = _peek(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            raise AuthenticationError(
                "The bearer token's signature algorithm is not accepted: only asymmetric ones "
                f"({', '.join(ACCEPTED_ALGORITHMS)}) are."
            )
        issuer = unverified.get("iss")
        state = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if state is None:
            raise AuthenticationError("The bearer token's issuer (iss) is not one this server trusts.")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthenticationError(MALFORMED)
        published = await self._key(state, kid, algorithm, now)
        try:
            claims = jwt.decode(token, published.key, algorithms=[algorithm]).claims
        except BadSignatureError as exc:
            raise AuthenticationError("The bearer token's signature does not verify.") from exc
        except JoseError as exc:
            raise AuthenticationError(MALFORMED) from exc
        self._check_claims(claims, state.config, now)
        account_name = account_name_of(claims, state.config)
        if account_name is None:
            raise AuthenticationError(
                f"The bearer token has no usable {state.config.identity_claim} claim naming its identity."
            )
        return TokenSubject(state.config.issuer, account_name, role_names_of(claims, state.config))

    def _check_claims(self, claims: Mapping[str, Any], issuer: OAuthIssuer, now: datetime) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=self._leeway,
            iss={"essential": True, "value": issuer.issuer},
            aud={"essential": True, "value": issuer.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(dict(claims))
        except ExpiredTokenError as exc:
            raise AuthenticationError("The bearer token has expired.") from exc
        except MissingClaimError as exc:
            missing = ", ".join(exc.claim.split(","))
            raise AuthenticationError(f"The bearer token lacks the claims it must carry: {missing}.") from exc
        except InvalidClaimError as exc:
            raise AuthenticationError(_claim_refusal(exc.claim)) from exc
        except JoseError as exc:
            raise AuthenticationError(MALFORMED) from exc

    async def _key(self, state: _IssuerKeys, kid: str | None, algorithm: str, now: datetime) -> _PublishedKey:
        """The published key that signed the token, fetching the issuer's keys when they are missing, old, or lack
        it and the last fetch is not too recent."""
        if self._fresh(state, now) and (found := state.find(kid, algorithm)) is not None:
            return found
        async with state.lock:  # one fetch per issuer at a time; the others wait for it and use its keys
            found = state.find(kid, algorithm)
            if found is not None and self._fresh(state, now):
                return found
            if state.attempted_at is None or not now - state.attempted_at < self._refetch:
                await self._fetch_keys(state, now)
                found = state.find(kid, algorithm)
        if found is not None:
            return found
        if state.failure is not None:
            raise IdentityProviderUnavailableError(
                f"The keys of the bearer token's issuer could not be fetched to check it: {state.failure}"
            )
        if kid is None:
            raise AuthenticationError("The bearer token names no key (kid), and its issuer publishes several.")
        raise AuthenticationError("The bearer token is signed by a key its issuer does not publish.")

    def _fresh(self, state: _IssuerKeys, now: datetime) -> bool:
        return state.fetched_at is not None and now - state.fetched_at < self._max_age

    async def _fetch_keys(self, state: _IssuerKeys, now: datetime) -> None:
        state.attempted_at = now
        try:
            if state.jwks_uri is None:
                issuer = state.config.issuer
                state.jwks_uri = jwks_uri_of(await self._fetcher(discovery_url(issuer)), issuer)
            keys = _imported(signing_keys(await self._fetcher(state.jwks_uri), state.jwks_uri))
            if not keys:
                raise DocumentUnavailableError(f"{state.jwks_uri} publishes no key that can verify a signature.")
        except DocumentUnavailableError as exc:
            state.failure = str(exc)
            state.jwks_uri = state.config.jwks_uri  # discover again next time: the provider may have moved its keys
            return
        state.keys, state.fetched_at, state.failure = keys, now, None


def _imported(jwks: list[dict[str, Any]]) -> list[_PublishedKey]:
    published = []
    for jwk in jwks:
        try:
            key = JWKRegistry.import_key(jwk)
        except (JoseError, ValueError, TypeError):
            continue  # a key this library cannot read verifies nothing; the others still work
        if not key.is_private:
            published.append(_PublishedKey(jwk, key))
    return published


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the (not yet verified) claims of a compact JWS, to pick the issuer and the key."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or not all(parts[:2]):
        raise AuthenticationError(MALFORMED)
    try:
        header, claims = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise AuthenticationError(MALFORMED) from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AuthenticationError(MALFORMED)
    return header, claims


def _claim_refusal(claim: str) -> str:
    return {
        "aud": "The bearer token is for another audience (aud).",
        "iss": "The bearer token's issuer (iss) is not one this server trusts.",
        "nbf": "The bearer token is not valid yet (nbf).",
        "iat": "The bearer token was issued in the future (iat).",
        "exp": "The bearer token's expiry (exp) is not a time.",
    }.get(claim, f"The bearer token's {claim[:40]} claim is not valid.")
