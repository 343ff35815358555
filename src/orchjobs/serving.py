"""uvicorn's httptools protocol, with what orchjobs needs of the connection: the client certificate of a TLS
connection in every request's scope (the ASGI TLS extension, `scope["extensions"]["tls"]["client_cert_chain"]`,
which uvicorn itself does not fill in), and a bound on a request's line and headers (httptools has none: a 100 MB
header would be gathered whole before the app saw it)."""

import ssl

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orchjobs.api.live import end_all_streams

# How `orchjobs serve` (and tests/live.py) name the class to uvicorn, which imports it in each worker process.
PROTOCOL = "orchjobs.serving:ClientCertHttpToolsProtocol"
# The bound when uvicorn is not told one (`h11_max_incomplete_event_size`, which `orchjobs serve` sets from
# ORCHJOBS_MAX_HEADER_BYTES, the same knob uvicorn's h11 protocol reads).
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE = b'{"ErrorCode":"0xA0110001","Message":"The request line and headers are larger than this server accepts."}'


class ClientCertHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the client certificate of the connection in every request's scope, and
    431 for a request whose line and headers pass the header limit."""

    _client_cert_pem: str | None = None
    # Bytes received since the current request began, while its headers are not complete.
    _head_bytes = 0
    _in_head = True

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        super().connection_made(transport)
        self._max_head_bytes = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        # One certificate per connection: read it once, not per request.
        self._client_cert_pem = ssl.DER_cert_to_PEM_cert(der) if der else None

    def shutdown(self) -> None:
        """The server is stopping: the console's event streams end now (each would otherwise hold the shutdown for
        its whole timeout), then uvicorn lets the other requests in progress finish."""
        end_all_streams()
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing, so that a chunk that completes the headers and carries a body is not counted.
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head_bytes:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._client_cert_pem is not None:
            self.scope["extensions"] = {"tls": {"client_cert_chain": [self._client_cert_pem]}}

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def _refuse_head(self) -> None:
        self.logger.warning("Request line and headers over %d bytes refused.", self._max_head_bytes)
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json; charset=utf-8\r\n"
            b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head + _TOO_LARGE)
        self.transport.close()
