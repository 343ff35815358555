"""Real certificates and keys for store tests, made with `cryptography` (EC P-256: fast to generate)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class MadeCertificate:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")

    @property
    def alias(self) -> str:
        """The SHA-1 thumbprint as cryptography computes it: an independent check of the store's aliases."""
        return self.certificate.fingerprint(hashes.SHA1()).hex()


def make_certificate(common_name: str | None) -> MadeCertificate:
    """A self-signed certificate; without a common name (None), its subject names an organization only."""
    key = ec.generate_private_key(ec.SECP256R1())
    attribute = (NameOID.COMMON_NAME, common_name) if common_name else (NameOID.ORGANIZATION_NAME, "orchjobs")
    name = x509.Name([x509.NameAttribute(*attribute)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return MadeCertificate(certificate, key)
