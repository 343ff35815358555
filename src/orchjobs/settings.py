"""Service settings, read from `ORCHJOBS_*` environment variables (documented in docs/settings.md)."""

import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OAuthIssuer(BaseModel):
    """One identity provider whose bearer tokens are accepted (an entry of `ORCHJOBS_OAUTH_ISSUERS`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(
        min_length=1,
        description="The `iss` of its tokens, exactly as the provider writes it; its discovery document lives at "
        "`{issuer}/.well-known/openid-configuration`.",
    )
    audience: str = Field(min_length=1, description="The `aud` its tokens must carry to be accepted here.")
    identity_claim: str = Field(
        "sub",
        min_length=1,
        description="The claim (a dotted path for nested claims) naming the identity, e.g. `sub`, `azp`, `client_id`.",
    )
    roles_claim: str | None = Field(
        None,
        min_length=1,
        description="The claim (dotted path, e.g. `realm_access.roles`) holding role names the token brings along.",
    )
    jwks_uri: str | None = Field(None, min_length=1, description="The key set's address; skips discovery when set.")
    account_prefix: str = Field(
        "", description="Put before the identity claim's value to make the account name, e.g. `idp:`."
    )


class Settings(BaseSettings):
    """Everything the service can be configured with. Tests build one directly."""

    model_config = SettingsConfigDict(env_prefix="ORCHJOBS_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./orchjobs.db",
        description="SQLAlchemy URL of the database: a SQLite file, or postgresql://… (psycopg 3).",
    )
    bootstrap_admin: str | None = Field(
        None,
        description="`user:password` of an administrator created at start-up when no user of that name exists.",
    )
    host: str = Field("127.0.0.1", description="Address `orchjobs serve` listens on.")
    port: int = Field(8080, description="Port `orchjobs serve` listens on.")
    demo: bool = Field(
        True,
        description="`make run` seeds a small demo data set into an empty database; 0 turns that off.",
    )
    product_version: str = Field(
        "12.4.0.0",
        description="Sent as `x-keyfactor-product-version`; clients such as kfutil read it to pick behaviour.",
    )
    max_return_limit: int = Field(
        10000, ge=1, description="The largest ReturnLimit a list request may ask for (larger is a 400)."
    )
    max_bulk_ids: int = Field(50000, ge=1, description="The most ids one bulk request (e.g. JobAuditIds) may carry.")
    max_query_length: int = Field(8192, ge=64, description="The longest query string accepted, in bytes.")
    auth_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a verified Basic credential is remembered, so that each request does not "
        "pay for a password hash; 0 verifies every request.",
    )
    login_failures_per_address: int = Field(
        20, ge=1, description="Failed logins one address may make per login_failure_window_seconds before 429s."
    )
    login_failures_per_user: int = Field(
        10,
        ge=1,
        description="Failed logins for one user name per login_failure_window_seconds before addresses that failed "
        "and have not logged in as it get 429s.",
    )
    login_failure_window_seconds: float = Field(
        300.0, gt=0, description="The window the two login-failure limits count in (each refills over it)."
    )
    login_trust_hours: float = Field(
        24.0, ge=0, description="How long an address that logged in as a user is exempt from that user's limits."
    )
    console_session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 30,
        description="How long a console login (the session cookie of /login) lasts before the page asks again.",
    )
    console_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often each server process checks the database for changes of job history, for the console's "
        "live updates (one small read on one connection a process).",
    )
    password_hash_workers: int = Field(
        1, ge=1, le=64, description="Threads per server process that verify passwords (Argon2), apart from requests."
    )
    password_hash_queue: int = Field(
        32, ge=0, description="Password checks that may wait for a hashing thread; more are refused with 503."
    )
    db_pool_size: int = Field(10, ge=1, description="PostgreSQL connection pool size per server process.")
    read_statement_seconds: float = Field(
        10.0,
        ge=0,
        description="How long one reading statement (a list, a query) may run before the database stops it and the "
        "request gets a 400; 0 is no limit.",
    )
    write_statement_seconds: float = Field(
        300.0,
        ge=0,
        description="How long one statement of a change (e.g. acknowledging a million history rows) may run before "
        "the database stops it, rolls the change back and the request gets a 400; 0 is no limit.",
    )
    export_statement_seconds: float = Field(
        300.0,
        ge=0,
        description="How long an export (JobHistory/Export) may take to fetch one batch of rows from its cursor "
        "(the first batch includes running the query); 0 is no limit.",
    )
    session_hours: float = Field(
        24.0, gt=0, description="How long an orchestrator session token stays valid after its registration."
    )
    auto_approve: bool = Field(
        False, description="Approve new orchestrators at their first registration instead of leaving them New."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated client addresses (TLS-terminating proxies) whose X-ARR-ClientCert and "
        "X-Forwarded-For headers are believed; empty trusts no one.",
    )
    ca_passphrase: str | None = Field(
        None,
        description="Encrypts the orchestrator CA's private key in the database; unset, the passphrase is the "
        "content of the CA key file (ca_key_file), created on first use.",
    )
    ca_key_file: str | None = Field(
        None,
        description="The CA key file used when ca_passphrase is unset; by default `<database>-ca.key` beside a "
        "SQLite database file, else ./orchjobs-ca.key.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (https://console.example.com) whose browser pages may call the API "
        "(CORS); empty allows none.",
    )
    max_inventory_items: int = Field(
        100_000, ge=1, description="The most certificates one inventory upload may report."
    )
    max_job_data_bytes: int = Field(
        2 * 1024 * 1024, ge=1, description="The largest FetchLogs log or custom-job data an orchestrator may upload."
    )
    max_body_bytes: int = Field(
        256 * 1024,
        ge=4096,
        description="The largest request body of a route not named below (see docs/limits.md); larger is a 413, "
        "refused before the body is read whole.",
    )
    max_inventory_bytes: int = Field(
        256 * 1024 * 1024,
        ge=4096,
        description="The largest inventory upload body (Jobs/Inventory): 100,000 items of about 2.6 KB each.",
    )
    max_header_bytes: int = Field(
        64 * 1024,
        ge=4096,
        description="The most bytes of a request line and headers `orchjobs serve` reads before it answers 431.",
    )
    sweep_seconds: float = Field(
        30.0, gt=0, description="How often each server process fails runs whose orchestrator did not report back."
    )
    prune_interval_seconds: float = Field(
        86400.0,
        ge=0,
        description="How often the service prunes job history by the retention settings (docs/retention.md); one "
        "process of all prunes per interval; 0 never.",
    )
    webhook_poll_seconds: float = Field(
        1.0, gt=0, description="How often each server process looks for webhook events to fan out and deliveries due."
    )
    webhook_subscription_seconds: float = Field(
        5.0, gt=0, description="How often each process re-reads which events some webhook subscribes to."
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="How long one delivery attempt may take in all.")
    webhook_max_attempts: int = Field(8, ge=1, description="Attempts of a delivery before it gives up.")
    webhook_retry_seconds: float = Field(30.0, ge=0, description="Wait after a delivery's first failed attempt.")
    webhook_max_retry_seconds: float = Field(3600.0, ge=0, description="The longest wait between two attempts.")
    webhook_batch: int = Field(
        50, ge=1, le=1000, description="Events fanned out, and deliveries sent at once, per round of one process."
    )
    webhook_max_payload_bytes: int = Field(
        65536, ge=4096, description="The largest delivery body; a longer Message or Note is cut to fit."
    )
    webhook_retention_days: float = Field(
        30.0, ge=0, description="Days finished deliveries and their events are kept; 0 keeps them."
    )
    oauth_issuers: list[OAuthIssuer] = Field(
        default_factory=list,
        description="JSON list of the identity providers whose bearer tokens are accepted; empty refuses them all.",
    )
    oauth_clock_skew_seconds: float = Field(
        60.0, ge=0, le=600, description="Leeway when checking a bearer token's exp, nbf and iat."
    )
    oauth_jwks_refetch_seconds: float = Field(
        30.0,
        ge=0,
        description="The shortest time between two fetches of an issuer's keys: a token naming an unknown key "
        "refetches them at most this often.",
    )
    oauth_jwks_max_age_seconds: float = Field(
        3600.0, gt=0, description="How long an issuer's fetched keys are used before they are fetched again."
    )
    oauth_fetch_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="How long fetching a discovery document or key set may take."
    )

    log_format: Literal["plain", "json"] = Field(
        "plain", description="The server's log lines: `plain` text, or `json` (one object per line)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="The least severe log lines written; INFO has a line per request and protocol event."
    )
    metrics: Literal["open", "authenticated", "off"] = Field(
        "open",
        description="Who may read /metrics: `open` to anyone who reaches the port, `authenticated` to Basic "
        "credentials holding /agents/management/read/, `off` answers 404.",
    )
    shutdown_timeout_seconds: int = Field(
        30,
        ge=0,
        description="On SIGTERM or Ctrl-C, how long `orchjobs serve` lets requests in progress finish before it "
        "closes their connections.",
    )

    @field_validator("log_level", "log_format", "metrics", mode="before")
    @classmethod
    def _level_case(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    @field_validator("oauth_issuers", mode="before")
    @classmethod
    def _issuers_from_json(cls, value: Any) -> Any:
        # The environment source decodes JSON itself; load_settings hands the text over as it is.
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @field_validator("oauth_issuers")
    @classmethod
    def _issuers_distinct(cls, value: list[OAuthIssuer]) -> list[OAuthIssuer]:
        names = [entry.issuer for entry in value]
        if len(names) != len(set(names)):
            raise ValueError("each issuer may be configured once")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        """Each origin as a browser sends it (scheme://host[:port], lower case, no default port), comma-joined."""
        return ",".join(_origin(item.strip()) for item in value.split(",") if item.strip())


def _origin(text: str) -> str:
    parts = urlsplit(text.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ValueError(f"{text!r} is not an origin: write scheme://host[:port], such as https://console.example.com")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{text!r} is not an origin: an origin holds no user name or password")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port is not None and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment, or from the given mapping (tests, the CLI)."""
    if environ is None:
        return Settings()
    values = {
        key[len("ORCHJOBS_") :].lower(): value for key, value in environ.items() if key.upper().startswith("ORCHJOBS_")
    }
    return Settings.model_validate(values)
