"""Secrets at rest, through the command line: a SQLite database and its WAL are created readable by their owner only,
and the orchestrator CA's key is always stored encrypted (with ORCHJOBS_CA_PASSPHRASE, else a key file made 0600 on
first use), the same CA read again by every later process, and by processes that start at once."""

import os
import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from orchjobs.store.engine import make_engine
from orchjobs.store.tables import orchestrator_ca

# What a shell typically has: without the service's care, new files would be readable by everyone (0644).
UMASK = 0o022


def orchjobs(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("ORCHJOBS_")}
    return subprocess.run(
        [sys.executable, "-m", "orchjobs", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
        umask=UMASK,
        timeout=120,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stored_key(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(select(orchestrator_ca.c.private_key_pem)).scalar_one())
    finally:
        engine.dispose()


def ca_environment(database_url: str, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment for the database, and where its CA key file goes: beside a SQLite database by default; a
    directory of the test's own for PostgreSQL."""
    if database_url.startswith("sqlite"):
        database = Path(database_url.removeprefix("sqlite:///"))
        return {"ORCHJOBS_DATABASE_URL": database_url}, database.with_name(database.stem + "-ca.key")
    key_file = tmp_path / "keys" / "orchjobs-ca.key"
    key_file.parent.mkdir()
    return {"ORCHJOBS_DATABASE_URL": database_url, "ORCHJOBS_CA_KEY_FILE": str(key_file)}, key_file


def test_migrate_creates_the_sqlite_database_and_its_wal_for_the_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "orchjobs.db"
    database.parent.mkdir()
    migrated = orchjobs("migrate", env={"ORCHJOBS_DATABASE_URL": f"sqlite:///{database}"})
    assert migrated.returncode == 0, migrated.stderr
    assert mode(database) == 0o600
    for name in ("orchjobs.db-wal", "orchjobs.db-shm"):  # when they outlived the command
        if (database.parent / name).exists():
            assert mode(database.parent / name) == 0o600
    # Whoever opens the database next (here SQLite itself, under a 0022 umask) gets -wal and -shm files of the
    # database's own mode.
    previous = os.umask(UMASK)
    try:
        conn = sqlite3.connect(database, isolation_level=None)
    finally:
        os.umask(previous)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("UPDATE app_setting SET value = value")
        assert mode(database.parent / "orchjobs.db-wal") == 0o600
        assert mode(database.parent / "orchjobs.db-shm") == 0o600
    finally:
        conn.close()


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    database.touch()
    database.chmod(0o640)
    migrated = orchjobs("migrate", env={"ORCHJOBS_DATABASE_URL": f"sqlite:///{database}"})
    assert migrated.returncode == 0, migrated.stderr
    assert mode(database) == 0o640


def test_without_a_passphrase_the_ca_key_is_encrypted_with_a_key_file(database_url: str, tmp_path: Path) -> None:
    env, key_file = ca_environment(database_url, tmp_path)
    first = orchjobs("ca", "export", "-", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert mode(key_file) == 0o600
    assert stored_key(database_url).startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # A restart (another process) reads the same CA with the same key file.
    again = orchjobs("ca", "export", "-", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    # Without its key file the stored key cannot be read: a clear error, and the CA is not replaced.
    key_file.unlink()
    lost = orchjobs("ca", "export", "-", env=env)
    assert lost.returncode == 1
    assert "cannot be read" in " ".join(lost.stdout.split())
    assert stored_key(database_url).startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_with_a_passphrase_the_ca_key_is_encrypted_with_it(database_url: str, tmp_path: Path) -> None:
    env, key_file = ca_environment(database_url, tmp_path)
    env["ORCHJOBS_CA_PASSPHRASE"] = "correct horse battery staple"
    first = orchjobs("ca", "export", "-", env=env)
    assert first.returncode == 0, first.stderr
    assert stored_key(database_url).startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert not key_file.exists()
    again = orchjobs("ca", "export", "-", env=env)
    assert again.stdout == first.stdout
    wrong = orchjobs("ca", "export", "-", env={**env, "ORCHJOBS_CA_PASSPHRASE": "wrong"})
    assert wrong.returncode == 1
    assert "cannot be read with ORCHJOBS_CA_PASSPHRASE" in " ".join(wrong.stdout.split())


def test_processes_starting_at_once_make_one_key_file_and_one_ca(database_url: str, tmp_path: Path) -> None:
    env, key_file = ca_environment(database_url, tmp_path)
    processes = 4
    with ThreadPoolExecutor(max_workers=processes) as pool:
        results = list(pool.map(lambda _: orchjobs("ca", "export", "-", env=env), range(processes)))
    assert [result.returncode for result in results] == [0] * processes, [result.stdout for result in results]
    assert len({result.stdout for result in results}) == 1
    assert mode(key_file) == 0o600
    assert sorted(path.name for path in key_file.parent.iterdir() if "ca.key" in path.name) == [key_file.name]
