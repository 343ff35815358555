"""Text that carries its own signature: a JSON payload and its HMAC-SHA256 (cut to 16 bytes), each base64url without
padding, joined by a dot. What the service hands a client to bring back later (a preview token, a continuation)
without keeping it: the client can hold it, not forge or alter it."""

import base64
import hashlib
import hmac
import json
from typing import Any

_MAC_BYTES = 16


def sign(payload: Any, key: bytes) -> str:
    body = _encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{_encode(_mac(key, body))}"


def well_formed(text: object, *, max_length: int) -> bool:
    """Whether `text` can be a signed text at all: checked before any decoding, so a long one costs nothing."""
    return isinstance(text, str) and len(text) <= max_length and text.count(".") == 1


def genuine(text: str, key: bytes) -> bool:
    """Whether a well-formed `text` was signed with `key` and not altered since."""
    body, mac = text.split(".")
    try:
        return hmac.compare_digest(_decode(mac), _mac(key, body))
    except ValueError:
        return False


def payload(text: str) -> Any:
    """The payload of a genuine `text`; ValueError when it is not JSON."""
    return json.loads(_decode(text.split(".")[0]))


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError(str(error)) from None
