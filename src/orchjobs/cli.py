"""The `orchjobs` command: serve, migrate, seed, user add."""

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from orchjobs.errors import OrchjobsError
from orchjobs.service import database
from orchjobs.settings import load_settings

app = typer.Typer(help="orchjobs: a Keyfactor Command-compatible orchestrator-job service.", no_args_is_help=True)
user_app = typer.Typer(help="Manage the users that may call the API.", no_args_is_help=True)
app.add_typer(user_app, name="user")
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
) -> None:
    """Serve the API (run `orchjobs migrate` first)."""
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        "orchjobs.cli:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        access_log=False,
        log_level="info",
    )


def app_factory():  # type: ignore[no-untyped-def]
    """Entry point for uvicorn worker processes: each builds its app from the environment."""
    from orchjobs.app import create_app

    return create_app(load_settings())


@app.command()
def seed(
    agents: Annotated[int, typer.Option(min=1, help="Orchestrators to create.")] = 20,
    history: Annotated[int, typer.Option(min=0, help="Job-history rows to create.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
    days: Annotated[int, typer.Option(min=1, help="Spread OperationStart over this many days before now.")] = 90,
    demo: Annotated[
        bool,
        typer.Option(help="Seed a small demo only when the database has no orchestrators and ORCHJOBS_DEMO is on."),
    ] = False,
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


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Name to log in with.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."),
    ],
    admin: Annotated[bool, typer.Option(help="May change application settings.")] = False,
) -> None:
    """Add a user that may call the API with Basic authentication."""
    from orchjobs.service.users import create_user

    engine = database.open_engine(load_settings())
    try:
        create_user(engine, username=username, password=password, is_admin=admin, now=datetime.now(UTC))
    except OrchjobsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"[green]Added user[/green] {username}{' (administrator)' if admin else ''}.")


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
) -> None:
    """Run the reference orchestrator: register, heartbeat and run jobs against this service."""
    from orchjobs.orchestrator.runner import run

    raise typer.Exit(run(url=url, name=name, store_dir=store_dir, username=username, password=password, once=once))
