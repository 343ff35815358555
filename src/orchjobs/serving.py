"""uvicorn over TLS with client certificates: the peer's certificate reaches the app through the ASGI TLS
extension (`scope["extensions"]["tls"]["client_cert_chain"]`), which uvicorn itself does not fill in."""

import ssl

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# How `orchjobs serve` names the class to uvicorn, which imports it in each worker process.
PROTOCOL = "orchjobs.serving:ClientCertHttpToolsProtocol"


class ClientCertHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the client certificate of the connection in every request's scope."""

    _client_cert_pem: str | None = None

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        # One certificate per connection: read it once, not per request.
        self._client_cert_pem = ssl.DER_cert_to_PEM_cert(der) if der else None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._client_cert_pem is not None:
            self.scope["extensions"] = {"tls": {"client_cert_chain": [self._client_cert_pem]}}
