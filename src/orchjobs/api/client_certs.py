"""The client certificate of a request: from the TLS connection itself, or from a trusted TLS-terminating
proxy's `X-ARR-ClientCert` header. Whether the certificate is one of ours is the service's question."""

import base64
import binascii
import re
from urllib.parse import unquote

from starlette.requests import Request

from orchjobs.api.client_address import is_trusted_proxy

HEADER = "x-arr-clientcert"
_ARMOUR = re.compile(r"-----(BEGIN|END) CERTIFICATE-----")


def client_certificate(request: Request, *, trusted_proxies: str) -> bytes | None:
    """The DER of the first certificate the client presented, or None.

    The header is believed only from an address listed in `trusted_proxies` (comma-separated addresses or
    networks): anyone else could put any certificate they hold a copy of in it."""
    chain = request.scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    if chain:
        return certificate_der(chain[0])
    header = request.headers.get(HEADER)
    if header and request.client is not None and is_trusted_proxy(request.client.host, trusted_proxies):
        return certificate_der(header)
    return None


def certificate_der(text: str) -> bytes | None:
    """DER from a PEM certificate, with or without its newlines (the C agent strips them for the header),
    URL-escaped PEM (nginx's $ssl_client_escaped_cert), or bare base64 DER (IIS ARR)."""
    if "%" in text:
        text = unquote(text)
    body = "".join(_ARMOUR.sub("", text).split())
    try:
        der = base64.b64decode(body, validate=True)
    except binascii.Error:
        return None
    return der or None
