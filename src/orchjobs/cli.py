"""The `orchjobs` command: serve, migrate, seed, prune, user add."""

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from orchjobs.errors import OrchjobsError
from orchjobs.orchestrator.custom import DEFAULT_MAX_DATA_BYTES
from orchjobs.service import database
from orchjobs.settings import Settings, load_settings

app = typer.Typer(help="orchjobs: a Keyfactor Command-compatible orchestrator-job service.", no_args_is_help=True)
user_app = typer.Typer(help="Manage the users that may call the API.", no_args_is_help=True)
app.add_typer(user_app, name="user")
ca_app = typer.Typer(help="The CA that issues orchestrators their client certificates.", no_args_is_help=True)
app.add_typer(ca_app, name="ca")
_T = TypeVar("_T")
console = Console()


def main() -> None:
    app()


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (ORCHJOBS_DATABASE_URL)."""
    engine = database.open_engine(load_settings())
    database.migrate(engine)
    engine.dispose()
    console.print("[green]Database is up to date.[/green]")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default ORCHJOBS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default ORCHJOBS_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    ssl_certfile: Annotated[str | None, typer.Option(help="Serve HTTPS with this certificate (PEM, chain).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="The private key of --ssl-certfile (PEM).")] = None,
    ssl_ca_certs: Annotated[
        str | None,
        typer.Option(help="CA bundle that client certificates must chain to (see `orchjobs ca export`)."),
    ] = None,
    client_cert: Annotated[
        str, typer.Option(help="Ask orchestrators for a client certificate: none, optional or required.")
    ] = "none",
) -> None:
    """Serve the API (run `orchjobs migrate` first)."""
    import ssl

    modes = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
    if client_cert not in modes:
        raise typer.BadParameter("must be none, optional or required", param_hint="--client-cert")
    if (ssl_keyfile or ssl_ca_certs or client_cert != "none") and not ssl_certfile:
        raise typer.BadParameter("TLS options need --ssl-certfile", param_hint="--ssl-certfile")
    if client_cert != "none" and not ssl_ca_certs:
        raise typer.BadParameter("client certificates need --ssl-ca-certs to verify them", param_hint="--ssl-ca-certs")
    settings = load_settings()
    _refuse_what_cannot_start(settings)
    tls = (
        {
            "ssl_certfile": ssl_certfile,
            "ssl_keyfile": ssl_keyfile,
            "ssl_ca_certs": ssl_ca_certs,
            "ssl_cert_reqs": modes[client_cert],
        }
        if ssl_certfile
        else {}
    )
    made = _metrics_directory(workers)
    try:
        _serve(settings, host or settings.host, port or settings.port, workers, tls)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _metrics_directory(workers: int) -> str | None:
    """Turn on prometheus-client's multiprocess mode for several workers, so that /metrics sums every process's
    counters whichever process answers: the worker processes, started after this, read the directory from the
    environment. The operator's own PROMETHEUS_MULTIPROC_DIR is used (for any number of workers) and emptied of the
    series a previous run left; else a temporary one is made, returned to be removed at exit."""
    from orchjobs.service.health import MULTIPROCESS_DIRECTORY

    configured = os.environ.get(MULTIPROCESS_DIRECTORY)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return None
    if workers == 1:
        return None
    made = tempfile.mkdtemp(prefix="orchjobs-metrics-")
    os.environ[MULTIPROCESS_DIRECTORY] = made
    return made


def _serve(settings: Settings, host: str, port: int, workers: int, tls: dict[str, Any]) -> None:
    import uvicorn

    uvicorn.run(
        "orchjobs.cli:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        # Whose X-Forwarded-For to believe is ORCHJOBS_TRUSTED_PROXIES' to say, not uvicorn's (it trusts 127.0.0.1).
        proxy_headers=False,
        # On SIGTERM or Ctrl-C, requests in progress get this long to finish before their connections close.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        # uvicorn does not hand the peer certificate to the app, nor bound a request's headers; this class does.
        http="orchjobs.serving:ClientCertHttpToolsProtocol",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        **tls,
    )


def _refuse_what_cannot_start(settings: Any) -> None:
    """Say in one sentence, before any server process starts, what would otherwise make each one fail its start-up
    with a traceback: a database that is not migrated (or does not answer), a bootstrap administrator that cannot
    be created."""
    from orchjobs.service.health import readiness
    from orchjobs.service.users import parse_bootstrap_admin

    try:
        if settings.bootstrap_admin:
            parse_bootstrap_admin(settings.bootstrap_admin)
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    engine = database.open_engine(settings)
    try:
        state = readiness(engine)
    finally:
        engine.dispose()
    if not state.ready:
        why = f"the database does not answer: {state.cause}" if state.cause else state.database
        console.print(
            f"Cannot serve {database.describe(settings.database_url)}: {why}", style="red", markup=False, soft_wrap=True
        )
        raise typer.Exit(2)


def app_factory():  # type: ignore[no-untyped-def]
    """Entry point for uvicorn worker processes: each builds its app from the environment."""
    from orchjobs.app import create_app
    from orchjobs.logs import configure_logging

    settings = load_settings()
    configure_logging(kind=settings.log_format, level=settings.log_level)
    return create_app(settings)


@app.command()
def seed(
    agents: Annotated[int, typer.Option(min=1, help="Orchestrators to create.")] = 20,
    history: Annotated[int, typer.Option(min=0, help="Job-history rows to create.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
    days: Annotated[int, typer.Option(min=1, help="Spread OperationStart over this many days before now.")] = 90,
    demo: Annotated[
        bool,
        typer.Option(
            help="Seed a small demo only when the database has no orchestrators and ORCHJOBS_DEMO is on, "
            "with an approved orchestrator for `orchjobs orchestrator --name demo-orchestrator`."
        ),
    ] = False,
    demo_store_dir: Annotated[
        str, typer.Option(help="With --demo: where the demo orchestrator's PEM store is written.")
    ] = "./demo-stores",
) -> None:
    """Fill the database with realistic synthetic orchestrators, stores, jobs and history."""
    from orchjobs.service.seeding import seed_database

    settings = load_settings()
    engine = database.open_engine(settings)
    if demo:
        if not settings.demo or database.has_orchestrators(engine):
            engine.dispose()
            return
        agents, history, days = 6, 2_000, 7
        from orchjobs.service.demo import prepare_demo_orchestrator

        admin = (settings.bootstrap_admin or "admin:").partition(":")[0]
        prepare_demo_orchestrator(
            engine, name="demo-orchestrator", username=admin, store_dir=Path(demo_store_dir), now=datetime.now(UTC)
        )
    with Progress(
        TextColumn("[bold]Seeding job history"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("history", total=history)
        summary = seed_database(
            engine,
            agents=agents,
            history=history,
            seed=seed,
            days=days,
            progress=lambda added: progress.advance(task, added),
        )
    database.refresh_statistics(engine)
    engine.dispose()
    console.print(
        f"[green]Seeded[/green] {summary.agents} orchestrators, {summary.certificate_stores} certificate stores, "
        f"{summary.scheduled_jobs} scheduled jobs and {summary.history:,} job-history rows."
    )


@app.command("recount-failures")
def recount_failures() -> None:
    """PostgreSQL: make FailureCount's per-day counts of open failures again from job history itself
    (docs/failure-count.md), after job history's triggers were turned off or its partitions written directly. Writers
    of job history wait while it counts."""
    from orchjobs.service.history import recount_open_failures

    engine = database.open_engine(load_settings())
    try:
        counted = recount_open_failures(engine)
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if counted is None:
        console.print("SQLite counts the open failures each time: there is nothing to recount.")
        return
    console.print(f"Recounted {counted} open failures and warnings of job history.")


@app.command()
def prune(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            min=0, help="Delete runs older than this many days (default: JobHistoryRetentionDays; 0 keeps all)."
        ),
    ] = None,
    keep_runs: Annotated[
        int | None,
        typer.Option(min=0, help="Always keep this many latest runs of each job (default: JobHistoryKeepRuns)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only count the runs that would be deleted.")] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=50000, help="Runs looked at per batch, each batch its own short transaction.")
    ] = 5000,
) -> None:
    """Delete old job history (docs/retention.md). Runs in flight, unacknowledged failures and warnings inside the
    age-out window and the latest runs of each job always stay; the prune goes in short batches and is audited."""
    from rich.table import Table

    from orchjobs.service.retention import prune_history

    engine = database.open_engine(load_settings())
    try:
        result = prune_history(
            engine,
            now=datetime.now(UTC),
            actor=_actor(),
            older_than_days=older_than_days,
            keep_runs=keep_runs,
            dry_run=dry_run,
            batch=batch_size,
        )
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if result.rule is None:
        console.print("Retention is off (0 days): nothing to prune. Set JobHistoryRetentionDays or --older-than-days.")
        return
    table = Table(title="Job history prune (dry run)" if dry_run else "Job history prune", show_header=False)
    table.add_row("Runs older than", f"{result.retention_days} days ({result.rule.cutoff:%Y-%m-%d %H:%M} UTC)")
    table.add_row("Latest runs kept per job", str(result.rule.keep_runs))
    table.add_row("Open failures kept from", f"{result.rule.age_out_start:%Y-%m-%d} UTC")
    table.add_row("Would delete" if dry_run else "Deleted", f"{result.deleted:,} runs")
    table.add_row("Batches", str(result.batches))
    console.print(table)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Name to log in with.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."),
    ],
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help="A security role the user holds (repeatable): Administrator, Operator, Auditor, Orchestrator or "
            "one made through /Security/Roles.",
        ),
    ] = None,
    admin: Annotated[bool, typer.Option(help="Same as --role Administrator.")] = False,
) -> None:
    """Add a user that may call the API with Basic authentication, holding the roles given."""
    from orchjobs.service.users import create_user

    roles = [*(role or []), *(["Administrator"] if admin else [])]
    if not roles:
        console.print("[red]Give the user at least one --role (it could do nothing without one).[/red]")
        raise typer.Exit(2)
    created = _run_user_change(
        lambda engine: create_user(
            engine, username=username, password=password, roles=roles, actor=_actor(), now=datetime.now(UTC)
        )
    )
    console.print(f"[green]Added user[/green] {created.username} with the roles {', '.join(created.roles)}.")


@user_app.command("password")
def user_password(
    username: Annotated[str, typer.Argument(help="The user whose password changes.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."),
    ],
) -> None:
    """Give a user a new password; the old one stops working at once, on every server process."""
    from orchjobs.service.users import set_password

    _run_user_change(
        lambda engine: set_password(engine, username=username, password=password, actor=_actor(), now=datetime.now(UTC))
    )
    console.print(f"[green]Changed the password of[/green] {username}.")


@user_app.command("remove")
def user_remove(username: Annotated[str, typer.Argument(help="The user to remove.")]) -> None:
    """Remove a user and its roles; its credentials stop working at once. The last administrator stays."""
    from orchjobs.service.users import remove_user

    _run_user_change(lambda engine: remove_user(engine, username=username, actor=_actor(), now=datetime.now(UTC)))
    console.print(f"[green]Removed user[/green] {username}.")


def _actor() -> str:
    """Who the audit log names for a change made with this command."""
    from orchjobs.service.audit import cli_actor

    return cli_actor()


def _run_user_change(change: Callable[[Any], _T]) -> _T:
    """Run a change on the configured database's engine, answering a refusal with its message."""
    engine = database.open_engine(load_settings())
    try:
        return change(engine)
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@ca_app.command("export")
def ca_export(
    path: Annotated[str, typer.Argument(help="File to write the CA certificate (PEM) to; - for stdout.")],
) -> None:
    """Write the orchestrator CA's certificate, e.g. for `orchjobs serve --ssl-ca-certs` or a TLS proxy to trust."""
    from pathlib import Path

    from orchjobs.service.orchestrator_ca import load_or_create_ca

    settings = load_settings()
    engine = database.open_engine(settings)
    try:
        ca = load_or_create_ca(engine, settings=settings, now=datetime.now(UTC))
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if path == "-":
        typer.echo(ca.certificate_pem, nl=False)
    else:
        Path(path).write_text(ca.certificate_pem)
        console.print(f"[green]Wrote the orchestrator CA certificate to[/green] {path}.")


@ca_app.command("issue-server-cert")
def ca_issue_server_cert(
    host: Annotated[
        list[str] | None,
        typer.Option(
            help="A DNS name or IP address the server is reached by; repeatable. Default: localhost, 127.0.0.1 and ::1."
        ),
    ] = None,
    out_cert: Annotated[str, typer.Option(help="File to write the certificate (PEM) to.")] = "server.pem",
    out_key: Annotated[str, typer.Option(help="File to write its private key (PEM, unencrypted, mode 0600) to.")] = (
        "server.key"
    ),
) -> None:
    """Issue a TLS server certificate signed by the orchestrator CA, for `orchjobs serve --ssl-certfile
    --ssl-keyfile` while trying things out: clients that trust `orchjobs ca export` trust it."""
    import os

    from orchjobs.service.orchestrator_ca import load_or_create_ca

    hosts = host or ["localhost", "127.0.0.1", "::1"]
    settings = load_settings()
    engine = database.open_engine(settings)
    try:
        ca = load_or_create_ca(engine, settings=settings, now=datetime.now(UTC))
        certificate_pem, key_pem = ca.issue_server_certificate(hosts, now=datetime.now(UTC))
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    descriptor = os.open(out_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file was there already
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(key_pem)
    Path(out_cert).write_text(certificate_pem)
    console.print(
        f"[green]Wrote a server certificate for[/green] {', '.join(hosts)} [green]to[/green] {out_cert} "
        f"[green]and its key to[/green] {out_key}."
    )


@app.command()
def orchestrator(
    url: Annotated[
        str, typer.Option(help="Base URL of the orchestrator protocol, e.g. http://127.0.0.1:8080/KeyfactorAgents.")
    ],
    name: Annotated[str, typer.Option(help="The orchestrator's ClientMachine name.")],
    store_dir: Annotated[
        str | None, typer.Option(help="Directory of PEM certificate stores this orchestrator manages.")
    ] = None,
    username: Annotated[str, typer.Option(envvar="ORCHJOBS_ORCHESTRATOR_USER", help="Basic-auth user.")] = "admin",
    password: Annotated[
        str, typer.Option(envvar="ORCHJOBS_ORCHESTRATOR_PASSWORD", help="Basic-auth password.")
    ] = "orchjobs-admin",
    once: Annotated[bool, typer.Option(help="Register, run the jobs handed out, and exit.")] = False,
    capability: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME[=module:function]",
            help="Report the custom job type NAME (capability Custom.NAME) and run its jobs with module:function, "
            "or without one by echoing the job's fields as its result data. Repeatable. See docs/custom-jobs.md.",
        ),
    ] = None,
    max_data_bytes: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="ORCHJOBS_ORCHESTRATOR_MAX_DATA_BYTES",
            help="A custom job whose result data is larger fails instead of uploading it; keep it at the server's "
            "ORCHJOBS_MAX_JOB_DATA_BYTES.",
        ),
    ] = DEFAULT_MAX_DATA_BYTES,
) -> None:
    """Run the reference orchestrator: register, heartbeat and run jobs against this service."""
    from orchjobs.orchestrator.loading import CapabilityOptionError, custom_job_types
    from orchjobs.orchestrator.runner import run

    try:
        custom_jobs = custom_job_types(capability or [])
    except CapabilityOptionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--capability") from None
    code = run(
        url=url,
        name=name,
        store_dir=store_dir,
        username=username,
        password=password,
        once=once,
        custom_jobs=custom_jobs,
        max_data_bytes=max_data_bytes,
    )
    raise typer.Exit(code)
