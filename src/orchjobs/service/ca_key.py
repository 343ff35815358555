"""The passphrase that encrypts the orchestrator CA's private key where it is kept (the database).

ORCHJOBS_CA_PASSPHRASE when it is set. Otherwise the content of a key file, made on first use with a random
passphrase and readable by its owner only: ORCHJOBS_CA_KEY_FILE, by default `<name>-ca.key` beside a SQLite database
file (`orchjobs.db` → `orchjobs-ca.key`) and `./orchjobs-ca.key` for PostgreSQL. So the key is always encrypted at
rest, and the database alone (a dump, a backup, a stolen file) does not give it away. Several server processes may
start at once: the first key file linked into place wins, and every process reads that one.
"""

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from orchjobs.errors import StoreUnavailableError
from orchjobs.settings import Settings
from orchjobs.store.engine import sqlite_file

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = "orchjobs-ca.key"
KEY_FILE_SUFFIX = "-ca.key"
# What callers are told; the path and the operating system's reason go to the log only.
KEY_FILE_UNUSABLE = (
    "The orchestrator CA's key file cannot be read or created (see the server log); fix it, or set "
    "ORCHJOBS_CA_KEY_FILE or ORCHJOBS_CA_PASSPHRASE."
)


@dataclass(frozen=True)
class CaPassphrase:
    """The passphrase, and the key file it was read from (None when ORCHJOBS_CA_PASSPHRASE gave it)."""

    value: str = field(repr=False)
    key_file: Path | None = None

    @property
    def source(self) -> str:
        """Where the passphrase comes from, as a caller may be told: a setting's name, never a path on the server."""
        return "ORCHJOBS_CA_PASSPHRASE" if self.key_file is None else "the CA key file (ORCHJOBS_CA_KEY_FILE)"


def ca_passphrase(settings: Settings) -> CaPassphrase:
    """The setting, else the key file's content (the file is created when it does not exist yet)."""
    if settings.ca_passphrase:
        return CaPassphrase(settings.ca_passphrase)
    path = key_file_path(settings)
    return CaPassphrase(read_or_create_key_file(path), key_file=path)


def key_file_path(settings: Settings) -> Path:
    """ORCHJOBS_CA_KEY_FILE; else beside the SQLite database file; else in the working directory."""
    if settings.ca_key_file:
        return Path(settings.ca_key_file)
    database = sqlite_file(settings.database_url)
    if database is not None:
        return database.with_name(database.stem + KEY_FILE_SUFFIX)
    return Path(DEFAULT_KEY_FILE)


def read_or_create_key_file(path: Path) -> str:
    """The passphrase the file holds, creating the file first when there is none."""
    try:
        return _read(path)
    except FileNotFoundError:
        _create(path)
    return _read(path)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        log.error("cannot read the orchestrator CA key file %s: %s", path, exc)
        raise StoreUnavailableError(KEY_FILE_UNUSABLE) from exc
    if not text:
        log.error("the orchestrator CA key file %s is empty", path)
        raise StoreUnavailableError(KEY_FILE_UNUSABLE)
    if mode & 0o077:
        log.warning("the orchestrator CA key file %s may be read by others than its owner (mode %o)", path, mode)
    return text


def _create(path: Path) -> None:
    """Write a new random passphrase to a temporary file beside `path`, created 0600 with O_CREAT|O_EXCL (so it is
    never readable by others, not even for a moment), then link it to `path`. A link fails when the name is taken, so
    of processes racing here the first one wins, the others keep its key, and no one reads a half-written file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, (secrets.token_urlsafe(32) + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return
        _sync_directory(path.parent)
        log.info("created the orchestrator CA key file %s: back it up, apart from the database", path)
    except OSError as exc:
        log.error("cannot create the orchestrator CA key file %s: %s", path, exc)
        raise StoreUnavailableError(KEY_FILE_UNUSABLE) from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _sync_directory(directory: Path) -> None:
    """Make the new name durable before a CA encrypted with it is committed: a crash must not lose the key file and
    keep the CA. Not every platform can open a directory; there the link is as durable as the platform makes it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
