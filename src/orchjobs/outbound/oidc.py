"""Fetches identity providers' discovery documents and key sets with httpx, for `service.bearer.TokenVerifier`: on
the server's event loop, bounded in time and size, redirects not followed."""

import asyncio
import json
from typing import Any

import httpx

from orchjobs.domain.bearer_tokens import DocumentUnavailableError

MAX_DOCUMENT_BYTES = 1024 * 1024


class HttpxJsonFetcher:
    """A `service.bearer.JsonFetcher`. A client per fetch: fetches are rare (a provider's keys are kept), and a
    client of its own never outlives the event loop it was made on."""

    def __init__(self, *, timeout_seconds: float, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes

    async def __call__(self, url: str) -> Any:
        try:
            async with (
                asyncio.timeout(self.timeout_seconds),
                httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False) as client,
                client.stream("GET", url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise DocumentUnavailableError(f"{url} answered {response.status_code}.")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise DocumentUnavailableError(f"{url} answered more than {self.max_bytes} bytes.")
        except TimeoutError as exc:
            raise DocumentUnavailableError(f"{url} did not answer within {self.timeout_seconds:g} s.") from exc
        except httpx.HTTPError as exc:
            raise DocumentUnavailableError(f"{url} could not be reached ({type(exc).__name__}).") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise DocumentUnavailableError(f"{url} did not answer JSON.") from exc
