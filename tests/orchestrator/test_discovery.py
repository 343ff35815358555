"""The reference orchestrator's Discovery: the search on a real directory tree, the handler's outcome and upload,
and a Discovery job run by `orchjobs orchestrator --once` against a real server, whose paths become unapproved
stores."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from orchjobs.orchestrator import jobs
from orchjobs.orchestrator.discovery import Search, default_extensions, find_stores
from orchjobs.orchestrator.jobs import JobContext
from orchjobs.orchestrator.pem_store import PemStore
from orchjobs.store.tables import certificate_store
from tests.orchestrator.test_end_to_end import (
    add_due_job,
    outcomes,
    registered_and_approved,
    run_orchestrator,
    runs_by_job,
)

PEM_DISCOVERY = "CertStores.PEM.Discovery"
JKS_DISCOVERY = "CertStores.JKS.Discovery"
PEM_EXTENSIONS = ("pem", "crt", "cer")


def tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def found(root: Path, search: Search, **options: Any) -> list[str]:
    """The locations found, relative to the root."""
    result = find_stores(root, search, **options)
    return [str(Path(location).relative_to(root.resolve())) for location in result.locations]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "stores"
    tree(
        base,
        "certs/app.pem",
        "certs/APP2.PEM",
        "certs/chain.crt",
        "certs/notes.txt",
        "certs/noext",
        "certs/sub/deep.cer",
        "certs/private/key.pem",
        "certs/backup/old.pem",
        "other/web.pem",
        "other/keystore.jks",
    )
    return base.resolve()


# -- the search --------------------------------------------------------------------------------------------------


def test_extensions_match_in_any_case_with_or_without_the_dot(root: Path) -> None:
    assert found(root, Search(("certs",), extensions=PEM_EXTENSIONS)) == [
        "certs/APP2.PEM",
        "certs/app.pem",
        "certs/chain.crt",
        "certs/backup/old.pem",
        "certs/private/key.pem",
        "certs/sub/deep.cer",
    ]
    job = {"Dirs": "certs, other", "Extensions": ".CRT,*.jks, "}
    assert found(root, Search.from_job(job, default_extensions=PEM_EXTENSIONS)) == [
        "certs/chain.crt",
        "other/keystore.jks",
    ]


def test_no_extensions_named_means_the_store_types_usual_ones() -> None:
    assert default_extensions(PEM_DISCOVERY) == PEM_EXTENSIONS
    assert default_extensions("certstores.jks.discovery") == ("jks",)
    assert default_extensions("Custom.Whatever") == ()
    search = Search.from_job({"Dirs": "other", "Extensions": ""}, default_extensions=("jks",))
    assert search.extensions == ("jks",)


def test_name_patterns_keep_names_that_contain_one_of_them(root: Path) -> None:
    search = Search.from_job({"Dirs": "certs", "NamePatterns": "APP, dee"}, default_extensions=PEM_EXTENSIONS)
    assert found(root, search) == ["certs/APP2.PEM", "certs/app.pem", "certs/sub/deep.cer"]


def test_ignored_dirs_by_name_or_by_path(root: Path) -> None:
    by_name = Search(("certs",), ignored_dirs=("PRIVATE", "backup"), extensions=PEM_EXTENSIONS)
    assert found(root, by_name) == ["certs/APP2.PEM", "certs/app.pem", "certs/chain.crt", "certs/sub/deep.cer"]
    by_path = Search(("certs", "other"), ignored_dirs=("certs/sub", str(root / "other")), extensions=("pem",))
    assert found(root, by_path) == ["certs/APP2.PEM", "certs/app.pem", "certs/backup/old.pem", "certs/private/key.pem"]


def test_symbolic_links_are_followed_only_when_asked_and_only_inside_the_store_directory(
    root: Path, tmp_path: Path
) -> None:
    tree(tmp_path / "outside", "secret.pem")
    (root / "links").mkdir()
    (root / "links/to-other").symlink_to(root / "other")
    (root / "links/web-link.pem").symlink_to(root / "other/web.pem")
    (root / "links/to-outside").symlink_to(tmp_path / "outside")
    (root / "links/loop").symlink_to(root / "links")

    assert found(root, Search(("links",), extensions=("pem",))) == []
    assert found(root, Search(("links",), extensions=("pem",), follow_symlinks=True)) == [
        "links/web-link.pem",
        "links/to-other/web.pem",
    ]
    # A directory named that is itself a link.
    assert find_stores(root, Search(("links/to-other",), extensions=("pem",))).problems == [
        "links/to-other is a symbolic link (SymLinks is off)"
    ]
    assert found(root, Search(("links/to-other",), extensions=("pem",), follow_symlinks=True)) == [
        "links/to-other/web.pem"
    ]


def test_directories_that_cannot_be_searched_are_named(root: Path, tmp_path: Path) -> None:
    search = Search(("certs/sub", "missing", "certs/app.pem", str(tmp_path), "../"), extensions=PEM_EXTENSIONS)
    result = find_stores(root, search)
    assert [Path(location).name for location in result.locations] == ["deep.cer"]
    assert result.problems == [
        "missing does not exist",
        "certs/app.pem is not a directory",
        f"{tmp_path} is outside the store directory {root}",
        f"../ is outside the store directory {root}",
    ]


def test_the_search_is_bounded_in_count_and_depth(root: Path) -> None:
    result = find_stores(root, Search(("certs",), extensions=PEM_EXTENSIONS), limit=2)
    assert (len(result.locations), result.truncated) == (2, True)

    deep = root / "deep"
    tree(deep, "a/top.pem", "a/b/middle.pem", "a/b/c/bottom.pem")
    assert found(root, Search(("deep",), extensions=("pem",)), max_depth=2) == ["deep/a/top.pem", "deep/a/b/middle.pem"]
    assert find_stores(root, Search(("deep",), extensions=("pem",)), max_depth=2).too_deep == 1


def test_the_orchestrators_own_files_are_never_found(root: Path) -> None:
    own = root / "certs/app.pem"
    assert "certs/app.pem" not in found(root, Search(("certs",), extensions=("pem",)), own_files=[own])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_an_unreadable_directory_is_named_and_the_rest_searched(root: Path) -> None:
    locked = root / "certs/private"
    locked.chmod(0)
    try:
        result = find_stores(root, Search(("certs",), extensions=("pem",)))
    finally:
        locked.chmod(0o755)
    assert [Path(location).name for location in result.locations] == ["APP2.PEM", "app.pem", "old.pem"]
    assert result.problems == [f"{locked} cannot be read (Permission denied)"]


# -- the handler -------------------------------------------------------------------------------------------------


def run_handler(root: Path, capability: str, job: dict[str, Any], **config: Any) -> tuple[jobs.JobOutcome, list[Any]]:
    uploads: list[Any] = []
    context = JobContext(
        capability=capability,
        job_id="8d0c5f0a-2b7e-4c61-a1f9-5e3d2c1b0a99",
        config={"AuditId": 7, "DiscoveryEndpoint": "Jobs/Discovery", "Job": job, **config},
        store=PemStore(root),
        log_path=root / "orchestrator.log",
        upload_inventory=lambda *_: None,
        upload_discovery=lambda endpoint, paths: uploads.append((endpoint, paths)),
    )
    return jobs.execute(context), uploads


def test_the_handler_uploads_what_it_found_and_succeeds(root: Path) -> None:
    outcome, uploads = run_handler(root, PEM_DISCOVERY, {"Dirs": "other", "Extensions": "", "SymLinks": False})
    assert outcome == jobs.JobOutcome(jobs.SUCCESS, "Discovery found 1 certificate store in other.")
    assert uploads == [("Jobs/Discovery", [str(root / "other/web.pem")])]

    outcome, uploads = run_handler(root, JKS_DISCOVERY, {"Dirs": "other"})
    assert uploads == [("Jobs/Discovery", [str(root / "other/keystore.jks")])]


def test_nothing_found_is_a_success_with_a_message_and_no_upload(root: Path) -> None:
    outcome, uploads = run_handler(root, PEM_DISCOVERY, {"Dirs": "other", "NamePatterns": "nothing"})
    assert outcome == jobs.JobOutcome(jobs.SUCCESS, "Discovery found no certificate stores in other.")
    assert uploads == []


def test_a_missing_directory_is_a_warning_that_names_it(root: Path) -> None:
    outcome, uploads = run_handler(root, PEM_DISCOVERY, {"Dirs": "other,/nowhere/at/all"})
    assert outcome.status == jobs.WARNING
    assert outcome.message == (
        "Discovery found 1 certificate store in other, /nowhere/at/all. "
        f"Not searched: /nowhere/at/all is outside the store directory {root}."
    )
    assert len(uploads) == 1


@pytest.mark.parametrize(
    ("job", "config", "fragment"),
    [
        ({"Dirs": ""}, {}, "names no directories"),
        ({"Dirs": "other"}, {"DiscoveryEndpoint": None}, "no DiscoveryEndpoint"),
    ],
)
def test_a_job_that_cannot_run_fails(root: Path, job: dict[str, Any], config: dict[str, Any], fragment: str) -> None:
    outcome, uploads = run_handler(root, PEM_DISCOVERY, job, **config)
    assert outcome.status == jobs.ERROR
    assert fragment in outcome.message
    assert uploads == []


# -- against the real server -------------------------------------------------------------------------------------


def test_a_discovery_job_turns_the_files_found_into_unapproved_stores(
    live_server: str, engine: Engine, tmp_path: Path
) -> None:
    store_dir = tmp_path / "stores"
    tree(store_dir, "certs/app.pem", "certs/chain.crt", "certs/private/key.pem", "certs/readme.txt")
    agent_id = registered_and_approved(live_server, engine, store_dir)
    fields = {
        "StoreType": 2,
        "ClientMachine": "",
        "Dirs": "certs,missing",
        "IgnoredDirs": "private",
        "Extensions": "",
        "NamePatterns": "",
        "SymLinks": False,
        "Compatibility": False,
    }
    job_id = add_due_job(engine, agent_id, "Discovery", PEM_DISCOVERY, fields=fields)

    run_orchestrator(live_server, store_dir)

    status, result, message = outcomes(runs_by_job(live_server))[job_id]
    assert (status, result) == (3, 3), message  # Completed with a Warning: one directory is missing
    assert message == "Discovery found 2 certificate stores in certs, missing. Not searched: missing does not exist."
    columns = (certificate_store.c.agent_id, certificate_store.c.store_type_id, certificate_store.c.store_path)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns, certificate_store.c.approved, certificate_store.c.properties)).all()
    root = store_dir.resolve()
    assert sorted(tuple(row) for row in rows) == [
        (
            agent_id,
            2,
            str(root / "certs/app.pem"),
            False,
            json.dumps({"separatePrivateKey": "false", "privateKeyPath": ""}),
        ),
        (
            agent_id,
            2,
            str(root / "certs/chain.crt"),
            False,
            json.dumps({"separatePrivateKey": "false", "privateKeyPath": ""}),
        ),
    ]
