"""A real OpenID Connect provider on a free local port, for the bearer-token tests: NanoIDP (PyPI `nanoidp`, the
`test` extra), a maintained test identity provider that issues client-credentials tokens (client_secret_post and
client_secret_basic), serves discovery and its JWKS, and rotates its signing key on `POST /api/keys/rotate`.

Its keys live in a directory the test chooses, so a test can also sign tokens with the provider's own current key and
claims of its choosing (`mint`): expired, not yet valid, for another audience. The provider's request log tells how
often its discovery document and key set were fetched (`requests_to`, `jwks_fetches`).
"""

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.live import free_port, read_log, stop

AUDIENCE = "orchjobs"
ELSEWHERE = "https://elsewhere.example"  # a resource the clients may ask a token for instead of orchjobs
STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    method: str  # how it authenticates at the token endpoint: client_secret_post or client_secret_basic


# The published Python SDK posts its id and secret in the body; kfutil's Go oauth2 library sends them with Basic.
SDK_CLIENT = Client("sdk-client", "sdk-client-secret", "client_secret_post")
GO_CLIENT = Client("go-client", "go-client-secret", "client_secret_basic")
CLIENTS = (SDK_CLIENT, GO_CLIENT)


def _settings_yaml(issuer: str, keys_dir: Path) -> str:
    clients = [
        {
            "client_id": client.client_id,
            "client_secret": client.secret,
            "token_endpoint_auth_method": client.method,
            "allowed_resources": [ELSEWHERE],
        }
        for client in CLIENTS
    ]
    document = {
        "config_version": 1,
        "oauth": {"issuer": issuer, "audience": AUDIENCE, "token_expiry_minutes": 60, "clients": clients},
        "jwt": {"keys_dir": str(keys_dir), "max_previous_keys": 1},
    }
    return json.dumps(document, indent=2)  # JSON is YAML


@dataclass(frozen=True)
class OidcProvider:
    issuer: str  # also its base URL: http://127.0.0.1:<port>
    keys_dir: Path
    log_path: Path

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    def token(self, client: Client = SDK_CLIENT, **form: str) -> str:
        """An access token from the token endpoint (grant client_credentials), the client authenticating its way."""
        data = {"grant_type": "client_credentials", **form}
        auth = None
        if client.method == "client_secret_post":
            data |= {"client_id": client.client_id, "client_secret": client.secret}
        else:
            auth = (client.client_id, client.secret)
        response = httpx.post(self.token_url, data=data, auth=auth, timeout=10)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def rotate_keys(self) -> str:
        """A new signing key (the previous one stays published, one rotation long); the new kid."""
        response = httpx.post(self.issuer + "/api/keys/rotate", timeout=10)
        assert response.status_code == 200, response.text
        return str(response.json()["new_kid"])

    def current_key(self) -> tuple[str, RSAKey]:
        kid = (self.keys_dir / "kid.txt").read_text().strip()
        return kid, RSAKey.import_key((self.keys_dir / "rsa_private.pem").read_bytes())

    def claims(self, subject: str = SDK_CLIENT.client_id, **overrides: Any) -> dict[str, Any]:
        """The claims the provider puts in a client-credentials token, valid for an hour from now, with overrides
        (None removes a claim)."""
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": subject, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 3600}
        claims |= overrides
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self, claims: dict[str, Any], *, key: RSAKey | None = None, kid: str | None = None, alg: str = "RS256"
    ) -> str:
        """A token signed with the provider's own current key (or with `key`), carrying exactly `claims`."""
        current_kid, current = self.current_key()
        header = {"alg": alg, "kid": current_kid if kid is None else kid}
        return jwt.encode(header, claims, key or current, algorithms=[alg])

    def requests_to(self, path: str) -> int:
        """How many GET requests for `path` the provider has answered so far (its request log)."""
        return self.log_path.read_text(errors="replace").count(f"GET {path} ")

    def jwks_fetches(self) -> int:
        return self.requests_to("/.well-known/jwks.json")


def unsigned(claims: dict[str, Any]) -> str:
    """A token with `alg: none` and no signature."""
    parts = [{"alg": "none", "typ": "JWT"}, claims]
    encoded = [base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode() for part in parts]
    return ".".join(encoded) + "."


@contextmanager
def running_provider(tmp_path: Path) -> Iterator[OidcProvider]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config_dir, keys_dir = tmp_path / "nanoidp", tmp_path / "nanoidp" / "keys"
    config_dir.mkdir(parents=True)
    (config_dir / "settings.yaml").write_text(_settings_yaml(issuer, keys_dir))
    (config_dir / "users.yaml").write_text(json.dumps({"config_version": 1, "users": {}}))
    command = [
        sys.executable, "-m", "nanoidp", "--config", str(config_dir), "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    log_path = tmp_path / "nanoidp.log"
    with log_path.open("w+b") as log:
        process = subprocess.Popen(command, cwd=config_dir, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(process, issuer, log)
            yield OidcProvider(issuer, keys_dir, log_path)
        finally:
            stop(process)


def _wait_until_serving(process: subprocess.Popen[bytes], issuer: str, log: Any) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nanoidp exited with status {process.returncode} at start-up:\n{read_log(log)}")
        try:
            if httpx.get(issuer + "/.well-known/openid-configuration", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"nanoidp did not serve its discovery document within {STARTUP_SECONDS:.0f} s:\n{read_log(log)}")
