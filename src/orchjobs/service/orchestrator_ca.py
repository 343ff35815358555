"""The orchestrator CA: the certificate authority that issues orchestrators their client certificates.

It is made on first use and kept in the database (one row, id 1), so every server process signs with the
same key; the key is always stored encrypted, with ORCHJOBS_CA_PASSPHRASE or the CA key file (`service.ca_key`), and a
key stored unencrypted by an older version is encrypted when it is first loaded. Orchestrators enrol by sending a
PKCS#10 CSR in their registration (agent-protocol.md §1.2) and authenticate later with the certificate.
"""

import base64
import binascii
import ipaddress
import logging
import re
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine

from orchjobs.errors import InvalidRequestError, StoreUnavailableError
from orchjobs.service.ca_key import CaPassphrase, ca_passphrase
from orchjobs.settings import Settings
from orchjobs.store import agents as store
from orchjobs.store.engine import read_transaction, write_transaction

log = logging.getLogger(__name__)

CA_YEARS = 10
CLIENT_CERT_DAYS = 365
# Certificates start a little in the past, so a client whose clock lags does not reject a fresh one.
CLOCK_SKEW = timedelta(minutes=5)
CA_NAME = "orchjobs orchestrator CA"


@dataclass(frozen=True)
class OrchestratorCA:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def check_csr(self, csr_der_b64: str, *, client_machine: str) -> x509.CertificateSigningRequest:
        """The parsed CSR, if it is well-formed, self-signed by its key and asks for `client_machine`."""
        csr = _parse_csr(csr_der_b64)
        if not csr.is_signature_valid:
            raise InvalidRequestError("The CSR's signature does not verify against its own public key.")
        names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = str(names[0].value) if names else ""
        if common_name.casefold() != client_machine.casefold():
            raise InvalidRequestError(
                f"The CSR asks for another identity: CN={common_name!r}, but the orchestrator registers as "
                f"{client_machine!r}."
            )
        key = csr.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            raise InvalidRequestError(f"The CSR's RSA key has {key.key_size} bits; at least 2048 are required.")
        if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise InvalidRequestError("The CSR's key type is not supported; use RSA (2048 bits or more) or ECC.")
        return csr

    def sign_csr(self, csr_der_b64: str, *, client_machine: str, agent_id: uuid.UUID, now: datetime) -> tuple[str, str]:
        """Issue an orchestrator its client certificate for the CSR: (base64 DER, thumbprint). CN is the
        orchestrator's name and a SAN URI `urn:uuid:<AgentId>` maps the certificate back to its orchestrator."""
        csr = self.check_csr(csr_der_b64, client_machine=client_machine)
        # The CN attribute comes from the CSR (equal to ClientMachine but for case): it is already encoded, so
        # names longer than X.509's 64-character CN bound that the orchestrator itself chose still work.
        subject = x509.Name(csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[:1])
        san: list[x509.GeneralName] = [x509.UniformResourceIdentifier(f"urn:uuid:{agent_id}")]
        certificate = self._issue(csr, subject=subject, usage=ExtendedKeyUsageOID.CLIENT_AUTH, san=san, now=now)
        return _base64_der(certificate), thumbprint(certificate)

    def sign_store_csr(self, csr_der_b64: str, *, common_name: str, now: datetime) -> str:
        """Issue a server certificate (base64 DER) for a store's new key (a Reenrollment job). Unlike an
        orchestrator's client certificate it has no client-auth usage and no AgentId, so it cannot stand in for
        the orchestrator."""
        csr = self.check_csr(csr_der_b64, client_machine=common_name)
        san: list[x509.GeneralName] = [x509.DNSName(common_name)] if common_name and " " not in common_name else []
        certificate = self._issue(csr, subject=csr.subject, usage=ExtendedKeyUsageOID.SERVER_AUTH, san=san, now=now)
        return _base64_der(certificate)

    def issue_server_certificate(self, hosts: list[str], *, now: datetime) -> tuple[str, str]:
        """A new key and a server certificate for it naming `hosts` (DNS names or IP addresses), as PEM
        (certificate, unencrypted PKCS#8 key): for serving TLS with `orchjobs serve --ssl-certfile` while trying
        things out, trusted by whoever trusts this CA. Like a store's, it cannot stand in for an orchestrator."""
        san = [_server_name(host) for host in hosts]
        if not san:
            raise InvalidRequestError("Name at least one host (a DNS name or an IP address) for the certificate.")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0].strip()[:64])])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        certificate = self._issue(csr, subject=subject, usage=ExtendedKeyUsageOID.SERVER_AUTH, san=san, now=now)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()

    def _issue(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        san: list[x509.GeneralName],
        now: datetime,
    ) -> x509.Certificate:
        """A leaf certificate for the CSR's key (checked by `check_csr`), valid for a year or until the CA expires."""
        key = csr.public_key()
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(min(now + timedelta(days=CLIENT_CERT_DAYS), self.certificate.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(key_encipherment=isinstance(key, rsa.RSAPublicKey)), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()), critical=False
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(self.private_key, hashes.SHA256())

    def verify_client_cert(self, pem_or_der: bytes | str, *, now: datetime) -> str | None:
        """The thumbprint of a certificate this CA issued that is valid at `now`; None for any other."""
        certificate = self.verified_certificate(pem_or_der, now=now)
        return thumbprint(certificate) if certificate is not None else None

    def verified_certificate(self, pem_or_der: bytes | str, *, now: datetime) -> x509.Certificate | None:
        """The certificate (PEM or DER) if this CA issued it and it is valid at `now`, else None."""
        data = pem_or_der.encode() if isinstance(pem_or_der, str) else pem_or_der
        try:
            pem = b"-----BEGIN" in data
            cert = x509.load_pem_x509_certificate(data) if pem else x509.load_der_x509_certificate(data)
        except ValueError:
            return None
        if cert.issuer != self.certificate.subject:
            return None
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return None
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return None
        # Only orchestrator client certificates identify an orchestrator: the same CA also signs the
        # server certificates of reenrollment jobs, which must not open a session.
        if not _is_client_auth(cert) or agent_id_of(cert) is None:
            return None
        return cert


def _is_client_auth(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage


def thumbprint(certificate: x509.Certificate) -> str:
    """SHA-1 of the DER, upper-case hex: how Command shows an orchestrator's certificate thumbprint."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


def agent_id_of(certificate: x509.Certificate) -> uuid.UUID | None:
    """The AgentId a certificate of this CA was issued for (its `urn:uuid:` SAN)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith("urn:uuid:"):
            try:
                return uuid.UUID(uri.removeprefix("urn:uuid:"))
            except ValueError:
                return None
    return None


def load_or_create_ca(engine: Engine, *, settings: Settings, now: datetime) -> OrchestratorCA:
    """The stored CA, created now if there is none. Two processes starting at once both try to store theirs; the
    one that finds a row already there reads the winner's. A key stored unencrypted (before keys always were) is
    encrypted now; of processes doing that at once, the first one's text stays (each encrypts the same key)."""
    passphrase = ca_passphrase(settings)
    with read_transaction(engine) as conn:
        row = store.get_orchestrator_ca(conn)
    if row is None:
        ca = _new_ca(now)
        with write_transaction(engine) as conn:
            stored = store.insert_orchestrator_ca(
                conn, certificate_pem=ca.certificate_pem, private_key_pem=_key_pem(ca, passphrase), created_at=now
            )
        if stored:
            return ca
        with read_transaction(engine) as conn:
            row = store.get_orchestrator_ca(conn)
        assert row is not None
    ca = _from_row(row.certificate_pem, row.private_key_pem, passphrase)
    if not _encrypted(row.private_key_pem):
        with write_transaction(engine) as conn:
            store.replace_orchestrator_ca_key(conn, old=row.private_key_pem, new=_key_pem(ca, passphrase))
    return ca


# The CA row never changes once written (but for encrypting an old key, which keeps the key), so each engine
# (database) needs to read it once per process.
_cache: "weakref.WeakKeyDictionary[Engine, OrchestratorCA]" = weakref.WeakKeyDictionary()


def cached_ca(engine: Engine, *, settings: Settings, now: datetime) -> OrchestratorCA:
    ca = _cache.get(engine)
    if ca is None:
        ca = _cache[engine] = load_or_create_ca(engine, settings=settings, now=now)
    return ca


def _new_ca(now: datetime) -> OrchestratorCA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "orchjobs"), x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return OrchestratorCA(certificate=certificate, private_key=key)


def _server_name(host: str) -> x509.GeneralName:
    """A SAN entry for `host`: an IP address as such, anything else as a DNS name (checked for its characters)."""
    text = host.strip()
    try:
        return x509.IPAddress(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    labels = text.removeprefix("*.").split(".")
    if not text or len(text) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise InvalidRequestError(f"{host!r} is neither a DNS name nor an IP address.")
    return x509.DNSName(text)


_DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _key_usage(*, key_encipherment: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    """Digital signatures, plus key encipherment (an RSA leaf) or certificate and CRL signing (the CA)."""
    return x509.KeyUsage(
        digital_signature=True,
        key_encipherment=key_encipherment,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _base64_der(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def _key_pem(ca: OrchestratorCA, passphrase: CaPassphrase) -> str:
    encryption = serialization.BestAvailableEncryption(passphrase.value.encode())
    return ca.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def _encrypted(private_key_pem: str) -> bool:
    return "ENCRYPTED" in private_key_pem.split("\n", 1)[0]


def _from_row(certificate_pem: str, private_key_pem: str, passphrase: CaPassphrase) -> OrchestratorCA:
    password = passphrase.value.encode() if _encrypted(private_key_pem) else None
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=password)
    except (ValueError, TypeError) as exc:
        # A server configuration problem, not the caller's: the key stays unreadable until the setting is fixed.
        if passphrase.key_file is not None:
            log.error("the orchestrator CA's key does not decrypt with the key file %s", passphrase.key_file)
        raise StoreUnavailableError(
            f"The orchestrator CA's private key cannot be read with {passphrase.source}: the key was encrypted with "
            "another passphrase (ORCHJOBS_CA_PASSPHRASE or the CA key file is missing or wrong)."
        ) from exc
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return OrchestratorCA(certificate=x509.load_pem_x509_certificate(certificate_pem.encode()), private_key=key)


def _parse_csr(text: str) -> x509.CertificateSigningRequest:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            return x509.load_pem_x509_csr(text.encode())
        return x509.load_der_x509_csr(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error):
        raise InvalidRequestError("The CSR is not a base64 DER (or PEM) PKCS#10 certificate request.") from None
