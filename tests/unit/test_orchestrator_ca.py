"""The orchestrator CA: made once and stored (always encrypted: with the passphrase, else the key file), signing
CSRs, verifying certificates, and two processes creating it at the same moment."""

import base64
import stat
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, func, insert, select

from orchjobs.errors import InvalidRequestError, StoreUnavailableError
from orchjobs.service import orchestrator_ca
from orchjobs.service.ca_key import key_file_path
from orchjobs.service.orchestrator_ca import agent_id_of, cached_ca, load_or_create_ca, thumbprint
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import orchestrator_ca as ca_table
from tests.orchestrator.certificates import make_certificate

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NAME = "web-prd-01"
AGENT_ID = uuid.UUID("3f2b6a1e-58c4-4d0e-9a51-0c2d6b7f8e11")


def csr_for(common_name: str, key: Any = None) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()


def stored_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(ca_table)).all())


def test_the_ca_is_created_once_and_stored_encrypted_with_the_key_file(engine: Engine, settings: Settings) -> None:
    first = load_or_create_ca(engine, settings=settings, now=NOW)
    again = load_or_create_ca(engine, settings=settings, now=NOW + timedelta(days=1))
    assert again.certificate == first.certificate
    [row] = stored_rows(engine)
    assert row.id == 1
    assert row.private_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # No passphrase is set: the key file created on first use holds it, readable by its owner only.
    key_file = key_file_path(settings)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    passphrase = key_file.read_text().strip()
    assert len(passphrase) >= 32
    key = serialization.load_pem_private_key(row.private_key_pem.encode(), password=passphrase.encode())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.private_numbers() == first.private_key.private_numbers()
    certificate = first.certificate
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    certificate.verify_directly_issued_by(certificate)
    assert certificate.not_valid_after_utc - NOW > timedelta(days=3650 - 1)
    assert isinstance(first.private_key, ec.EllipticCurvePrivateKey)


def test_the_key_file_is_beside_a_sqlite_database_else_in_the_working_directory(tmp_path: Path) -> None:
    assert key_file_path(Settings(database_url=f"sqlite:///{tmp_path}/data/prod.db")) == tmp_path / "data/prod-ca.key"
    assert key_file_path(Settings()) == Path("./orchjobs-ca.key")
    assert key_file_path(Settings(database_url="postgresql://db/orchjobs")) == Path("orchjobs-ca.key")
    chosen = Settings(database_url="sqlite:///x.db", ca_key_file="/etc/orchjobs/ca.key")
    assert key_file_path(chosen) == Path("/etc/orchjobs/ca.key")


def test_the_private_key_is_encrypted_with_the_passphrase(engine: Engine, settings: Settings) -> None:
    with_passphrase = settings.model_copy(update={"ca_passphrase": "correct horse"})
    created = load_or_create_ca(engine, settings=with_passphrase, now=NOW)
    [row] = stored_rows(engine)
    assert row.private_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert not key_file_path(settings).exists()  # the passphrase is set: no key file is made
    loaded = load_or_create_ca(engine, settings=with_passphrase, now=NOW)
    assert loaded.private_key.private_numbers() == created.private_key.private_numbers()
    for wrong in ({"ca_passphrase": "wrong horse"}, {}):
        with pytest.raises(StoreUnavailableError, match="ORCHJOBS_CA_PASSPHRASE"):
            load_or_create_ca(engine, settings=settings.model_copy(update=wrong), now=NOW)


def test_a_key_stored_unencrypted_is_encrypted_when_first_loaded(engine: Engine, settings: Settings) -> None:
    """An install from before keys were always encrypted: its CA stays the same, its key is stored encrypted."""
    old = make_certificate("orchjobs orchestrator CA")
    with engine.begin() as conn:
        conn.execute(
            insert(ca_table).values(id=1, certificate_pem=old.pem, private_key_pem=old.key_pem, created_at=NOW)
        )
    loaded = load_or_create_ca(engine, settings=settings, now=NOW)
    assert loaded.certificate == old.certificate
    assert loaded.private_key.private_numbers() == old.key.private_numbers()
    [row] = stored_rows(engine)
    assert row.private_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    again = load_or_create_ca(engine, settings=settings, now=NOW)
    assert again.private_key.private_numbers() == old.key.private_numbers()


def test_a_missing_key_file_is_a_clear_refusal(engine: Engine, settings: Settings) -> None:
    load_or_create_ca(engine, settings=settings, now=NOW)
    key_file_path(settings).unlink()  # a new key file is made, and the stored key does not decrypt with it
    with pytest.raises(StoreUnavailableError, match="the CA key file") as refused:
        load_or_create_ca(engine, settings=settings, now=NOW)
    assert str(key_file_path(settings)) not in refused.value.message  # no path on the server reaches a caller
    unusable = settings.model_copy(update={"ca_key_file": str(key_file_path(settings).parent / "absent" / "ca.key")})
    with pytest.raises(StoreUnavailableError, match="ORCHJOBS_CA_KEY_FILE"):
        load_or_create_ca(engine, settings=unusable, now=NOW)


def test_signing_issues_a_client_certificate_for_the_orchestrator(engine: Engine, settings: Settings) -> None:
    ca = load_or_create_ca(engine, settings=settings, now=NOW)
    key = ec.generate_private_key(ec.SECP384R1())
    der_b64, print_ = ca.sign_csr(csr_for(NAME.upper(), key), client_machine=NAME, agent_id=AGENT_ID, now=NOW)
    certificate = x509.load_der_x509_certificate(base64.b64decode(der_b64))
    certificate.verify_directly_issued_by(ca.certificate)
    assert certificate.public_key() == key.public_key()
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == NAME.upper()
    assert agent_id_of(certificate) == AGENT_ID
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert certificate.not_valid_after_utc == NOW + timedelta(days=365)
    assert print_ == certificate.fingerprint(hashes.SHA1()).hex().upper() == thumbprint(certificate)
    assert len(print_) == 40


def test_a_pem_csr_and_an_rsa_key_are_accepted(engine: Engine, settings: Settings) -> None:
    ca = load_or_create_ca(engine, settings=settings, now=NOW)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = base64.b64decode(csr_for(NAME, key))
    pem = x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM).decode()
    der_b64, _ = ca.sign_csr(pem, client_machine=NAME, agent_id=AGENT_ID, now=NOW)
    certificate = x509.load_der_x509_certificate(base64.b64decode(der_b64))
    assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment is True


def _tampered(csr_b64: str) -> str:
    der = bytearray(base64.b64decode(csr_b64))
    der[-3] ^= 0x01  # inside the signature: the request still parses, the signature no longer verifies
    return base64.b64encode(bytes(der)).decode()


@pytest.mark.parametrize(
    ("csr", "message"),
    [
        (csr_for("someone-else"), "asks for another identity"),
        (_tampered(csr_for(NAME)), "signature does not verify"),
        (csr_for(NAME, rsa.generate_private_key(public_exponent=65537, key_size=1024)), "at least 2048"),
        ("", "not a base64 DER"),
        ("bm90IGEgY3Ny", "not a base64 DER"),
        ("-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----", "not a base64 DER"),
    ],
)
def test_bad_csrs_are_refused_with_a_clear_message(engine: Engine, csr: str, message: str, settings: Settings) -> None:
    ca = load_or_create_ca(engine, settings=settings, now=NOW)
    with pytest.raises(InvalidRequestError, match=message):
        ca.sign_csr(csr, client_machine=NAME, agent_id=AGENT_ID, now=NOW)


def test_only_valid_certificates_of_this_ca_verify(engine: Engine, tmp_path: Any, settings: Settings) -> None:
    ca = load_or_create_ca(engine, settings=settings, now=NOW)
    der_b64, print_ = ca.sign_csr(csr_for(NAME), client_machine=NAME, agent_id=AGENT_ID, now=NOW)
    der = base64.b64decode(der_b64)
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    assert ca.verify_client_cert(der, now=NOW) == print_
    assert ca.verify_client_cert(pem.decode(), now=NOW + timedelta(days=300)) == print_
    assert ca.verify_client_cert(der, now=NOW + timedelta(days=366)) is None  # expired
    assert ca.verify_client_cert(der, now=NOW - timedelta(hours=1)) is None  # not yet valid
    assert ca.verify_client_cert(b"garbage", now=NOW) is None
    # Another orchjobs installation's CA has the same name but not the same key.
    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other_engine)
    other_settings = Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}")
    other = load_or_create_ca(other_engine, settings=other_settings, now=NOW)
    other_engine.dispose()
    foreign, _ = other.sign_csr(csr_for(NAME), client_machine=NAME, agent_id=AGENT_ID, now=NOW)
    assert ca.verify_client_cert(base64.b64decode(foreign), now=NOW) is None


def test_two_processes_creating_the_ca_at_once_agree(database_url: str, settings: Settings) -> None:
    engines = [make_engine(database_url), make_engine(database_url)]
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def create(index: int) -> None:
        barrier.wait()
        results[index] = load_or_create_ca(engines[index], settings=settings, now=NOW)

    threads = [threading.Thread(target=create, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0].certificate == results[1].certificate
    assert len(stored_rows(engines[0])) == 1
    for item in engines:
        item.dispose()


def test_the_loser_of_a_creation_race_reads_the_winners_ca(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    winner = load_or_create_ca(engine, settings=settings, now=NOW)
    real = orchestrator_ca.store.get_orchestrator_ca
    calls: list[int] = []

    def first_sees_nothing(conn: Any) -> Any:
        calls.append(1)
        return None if len(calls) == 1 else real(conn)

    # As if this process read "no CA" just before the winner committed: its insert then conflicts.
    monkeypatch.setattr(orchestrator_ca.store, "get_orchestrator_ca", first_sees_nothing)
    loser = load_or_create_ca(engine, settings=settings, now=NOW)
    assert loser.certificate == winner.certificate
    assert len(calls) == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ca_table)).scalar_one() == 1


def test_the_ca_is_read_once_per_engine(engine: Engine, settings: Settings) -> None:
    assert cached_ca(engine, settings=settings, now=NOW) is cached_ca(engine, settings=settings, now=NOW)
