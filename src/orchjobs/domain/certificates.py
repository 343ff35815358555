"""Certificates as Command describes them (GET /Certificates): read from DER, base64 DER or PEM, the facts kept
once per certificate by thumbprint."""

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import NameOID

from orchjobs.errors import InvalidRequestError

# A certificate larger than this is not one a store holds (the biggest real ones are a few kilobytes).
MAX_CERTIFICATE_BYTES = 64 * 1024


class KeyType(IntEnum):
    """Command's KeyType of a certificate's public key."""

    UNKNOWN = 0
    RSA = 1
    DSA = 2
    ECC = 3
    DH = 4


@dataclass(frozen=True)
class CertificateFacts:
    thumbprint: str
    serial_number: str
    issued_dn: str
    issued_cn: str | None
    issuer_dn: str
    not_before: datetime
    not_after: datetime
    signing_algorithm: str
    key_type: KeyType
    key_size: int
    content: str  # base64 DER


def read_certificate(data: bytes | str) -> CertificateFacts:
    """The facts of one X.509 certificate given as DER, base64 DER or PEM; a 400 when it is none of those."""
    der = _der(data)
    try:
        certificate = x509.load_der_x509_certificate(der)
        not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        subject, issuer = certificate.subject, certificate.issuer
        algorithm = certificate.signature_algorithm_oid._name
        key_type, key_size = _key(certificate)
    except ValueError:
        raise InvalidRequestError("The certificate is not an X.509 certificate in DER, base64 or PEM form.") from None
    names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertificateFacts(
        thumbprint=hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - the thumbprint is SHA-1 by definition
        serial_number=f"{certificate.serial_number:X}",
        issued_dn=_dn(subject),
        issued_cn=str(names[0].value) if names else None,
        issuer_dn=_dn(issuer),
        not_before=not_before,
        not_after=not_after,
        signing_algorithm=algorithm,
        key_type=key_type,
        key_size=key_size,
        content=base64.b64encode(der).decode("ascii"),
    )


def _der(data: bytes | str) -> bytes:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if len(raw) > MAX_CERTIFICATE_BYTES * 2:
        raise InvalidRequestError(f"A certificate may be at most {MAX_CERTIFICATE_BYTES} bytes long.")
    if b"-----BEGIN" in raw:
        try:
            return x509.load_pem_x509_certificate(raw).public_bytes(Encoding.DER)
        except ValueError:
            raise InvalidRequestError("The PEM text does not hold an X.509 certificate.") from None
    if raw[:1] == b"\x30":
        return raw
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("The certificate is neither DER, base64 DER nor PEM.") from None


def _dn(name: x509.Name) -> str:
    # .NET's order (most specific first, as Command shows IssuedDN): "CN=host, O=Org, C=US".
    return ", ".join(attribute.rfc4514_string() for attribute in reversed(list(name)))


def _key(certificate: x509.Certificate) -> tuple[KeyType, int]:
    try:
        key = certificate.public_key()
    except (ValueError, TypeError):
        return KeyType.UNKNOWN, 0
    if isinstance(key, rsa.RSAPublicKey):
        return KeyType.RSA, key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyType.ECC, key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return KeyType.DSA, key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return KeyType.ECC, 256 if isinstance(key, ed25519.Ed25519PublicKey) else 456
    return KeyType.UNKNOWN, 0


# POST /Certificates/Import takes text: base64 of at most about MAX_CERTIFICATE_BYTES, or PEM text of that size.
MAX_IMPORT_CHARS = 2 * MAX_CERTIFICATE_BYTES
_PEM_BEGIN = b"-----BEGIN"


def read_import(text: str, password: str | None) -> CertificateFacts:
    """The certificate of POST /Certificates/Import's `Certificate`: PEM text, or base64 of DER, of PEM text or of a
    PKCS#12 file (opened with `password`; its certificate is taken, its private key and chain are not kept). Only the
    first certificate of a PEM text is read, as Command does. A 400 that says what is wrong otherwise."""
    if not text.strip():
        raise InvalidRequestError("Certificate is required: the base64 of a certificate (DER, PEM or PKCS#12).")
    if len(text) > MAX_IMPORT_CHARS:
        raise InvalidRequestError(f"Certificate may be at most {MAX_IMPORT_CHARS} characters long; got {len(text)}.")
    raw = text.encode("utf-8", "replace")
    if _PEM_BEGIN in raw:
        return read_certificate(raw)
    try:
        decoded = base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("Certificate is not base64 (nor PEM text).") from None
    if not decoded:
        raise InvalidRequestError("Certificate is empty.")
    if _PEM_BEGIN in decoded:
        return read_certificate(decoded)
    try:
        x509.load_der_x509_certificate(decoded)
    except ValueError:
        return read_certificate(_pkcs12_certificate(decoded, password))
    return read_certificate(decoded)


def _pkcs12_certificate(data: bytes, password: str | None) -> bytes:
    """The DER of a PKCS#12 file's certificate (the one its key belongs to, else its first); a 400 when the data is not
    PKCS#12, the password does not open it, or it holds no certificate."""
    bundle = None
    # Without a password, a file protected by the empty one opens too (.NET and OpenSSL treat them alike).
    for candidate in [password.encode("utf-8")] if password else [None, b""]:
        try:
            bundle = pkcs12.load_pkcs12(data, candidate)
            break
        except (ValueError, TypeError):
            continue
    if bundle is None:
        if password:
            raise InvalidRequestError(
                "Certificate is neither an X.509 certificate nor a PKCS#12 file that the Password given opens."
            ) from None
        raise InvalidRequestError(
            "Certificate is neither an X.509 certificate (DER or PEM) nor a PKCS#12 file without a password; "
            "give the Password of a PKCS#12 file."
        ) from None
    found = bundle.cert or (bundle.additional_certs[0] if bundle.additional_certs else None)
    if found is None:
        raise InvalidRequestError("The PKCS#12 file holds no certificate.")
    return found.certificate.public_bytes(Encoding.DER)
