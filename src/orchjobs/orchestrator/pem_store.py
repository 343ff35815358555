"""Certificate stores that are real PEM files in one directory: read, add, remove.

A store is one PEM file under the orchestrator's store directory; a job names it by `StorePath`, relative to
that directory or absolute inside it. Paths that lead out of it (`../`, absolute elsewhere, symlinks) are
refused: a server must not be able to make the orchestrator read or write arbitrary files. Certificates are
identified, as by the C agent, by the lower-case hex SHA-1 of their DER encoding (the alias).
"""

import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----[ \t]*\r?\n?", re.DOTALL)
_CERTIFICATE_LABELS = {"CERTIFICATE", "X509 CERTIFICATE"}
_KEY_LABELS = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"}


class StoreError(Exception):
    """A store cannot be used as asked: bad path, unreadable file, malformed certificate."""


@dataclass(frozen=True)
class StoredCertificate:
    alias: str  # lower-case hex SHA-1 of the DER
    der: bytes
    private_key_entry: bool  # a private key for it is in the same file


@dataclass(frozen=True)
class _Block:
    label: str
    start: int
    end: int
    text: str  # the whole block, armour included
    der: bytes


def alias_of(der: bytes) -> str:
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()  # a thumbprint, not a security hash


def certificate_der(entry_contents: str) -> bytes:
    """The DER of a certificate given as base64 DER or as PEM (what `EntryContents` may hold)."""
    text = entry_contents.strip()
    if "-----BEGIN" in text:
        blocks = [block for block in _blocks(text) if block.label in _CERTIFICATE_LABELS]
        if not blocks:
            raise StoreError("The entry contents hold no PEM certificate.")
        der = blocks[0].der
    else:
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise StoreError("The entry contents are neither base64 DER nor PEM.") from None
    _load_certificate(der)
    return der


class PemStore:
    """The PEM files under one directory."""

    def __init__(self, root: Path, *, own_files: Iterable[Path] = ()) -> None:
        self.root = root.resolve()
        # The orchestrator's log and identity live here too; like the C agent's own certificate, never a store.
        self.own_files = {path.resolve() for path in own_files}

    def resolve(self, store_path: str) -> Path:
        """The existing PEM file `store_path` names, refusing anything outside the store directory."""
        if not store_path.strip():
            raise StoreError("The job names no store path.")
        candidate = Path(store_path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        resolved = candidate.resolve()
        if not resolved.is_relative_to(self.root):
            raise StoreError(f"The store path {store_path!r} is outside the store directory {str(self.root)!r}.")
        if resolved in self.own_files:
            raise StoreError(f"The store path {store_path!r} is one of the orchestrator's own files.")
        if not resolved.exists():
            raise StoreError(f"The store {store_path!r} does not exist.")
        if not resolved.is_file():
            raise StoreError(f"The store {store_path!r} is not a file.")
        return resolved

    def certificates(self, store_path: str, *, password: str | None = None) -> list[StoredCertificate]:
        """Every certificate in the store, once each, in file order."""
        return _certificates(_read(self.resolve(store_path)), password)

    def add(self, store_path: str, der: bytes) -> bool:
        """Append the certificate; False (and nothing written) when it is already there."""
        path = self.resolve(store_path)
        text = _read(path)
        if any(cert.alias == alias_of(der) for cert in _certificates(text, None)):
            return False
        pem = _load_certificate(der).public_bytes(serialization.Encoding.PEM).decode("ascii")
        separator = "\n" if text and not text.endswith("\n") else ""
        _write(path, text + separator + pem)
        return True

    def remove(self, store_path: str, alias: str, *, password: str | None = None) -> bool:
        """Remove the certificate with this alias (any case) and its private key; False when it is not there."""
        path = self.resolve(store_path)
        text = _read(path)
        blocks = _blocks(text)
        wanted = alias.strip().lower()
        doomed = [block for block in blocks if block.label in _CERTIFICATE_LABELS and alias_of(block.der) == wanted]
        if not doomed:
            return False
        public_keys = {_public_key_bytes(_load_certificate(doomed[0].der))}
        doomed += [block for block in blocks if block.label in _KEY_LABELS and _key_id(block, password) in public_keys]
        _write(path, _without(text, doomed))
        return True


def _blocks(text: str) -> list[_Block]:
    blocks = []
    for match in _PEM_BLOCK.finditer(text):
        label, body = match.group(1), match.group(2)
        try:
            der = base64.b64decode("".join(line for line in body.splitlines() if ":" not in line), validate=False)
        except (binascii.Error, ValueError):
            der = b""
        blocks.append(_Block(label, match.start(), match.end(), match.group(0), der))
    return blocks


def _certificates(text: str, password: str | None) -> list[StoredCertificate]:
    blocks = _blocks(text)
    key_ids = {_key_id(block, password) for block in blocks if block.label in _KEY_LABELS} - {None}
    found: dict[str, StoredCertificate] = {}
    for block in blocks:
        if block.label not in _CERTIFICATE_LABELS:
            continue
        certificate = _load_certificate(block.der)
        alias = alias_of(block.der)
        has_key = _public_key_bytes(certificate) in key_ids
        found.setdefault(alias, StoredCertificate(alias, block.der, has_key))
    return list(found.values())


def _load_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise StoreError("The store holds a block that is not a valid X.509 certificate.") from None


def _public_key_bytes(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_id(block: _Block, password: str | None) -> bytes | None:
    """The public key (SubjectPublicKeyInfo DER) of a private-key block, or None when it cannot be read."""
    secret = password.encode() if password else None
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(block.text.encode("ascii"), secret)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None  # encrypted without the right password, or a key type we cannot read
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _without(text: str, blocks: list[_Block]) -> str:
    kept, position = [], 0
    for block in sorted(blocks, key=lambda item: item.start):
        kept.append(text[position : block.start])
        position = block.end
    kept.append(text[position:])
    return "".join(kept)


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("latin-1")  # every byte round-trips, whatever else the file holds
    except OSError as exc:
        raise StoreError(f"The store {path} cannot be read: {exc.strerror}.") from None


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, so a crash never leaves a half-written store."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="latin-1", newline="") as file:
            file.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
