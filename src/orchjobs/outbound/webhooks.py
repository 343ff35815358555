"""Sends webhook deliveries with httpx: every attempt of a batch at once on one event loop, each cut off after the
timeout however slowly the receiver answers, redirects not followed. Only the status line is read."""

import asyncio
from collections.abc import Sequence

import httpx

from orchjobs.domain.webhooks import OutgoingRequest, SendOutcome

MAX_ERROR_LENGTH = 500


class HttpxSender:
    """A `service.webhook_worker.Sender`: call it with a batch of requests, get one outcome per request, in order."""

    def __init__(self, *, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    def __call__(self, requests: Sequence[OutgoingRequest]) -> list[SendOutcome]:
        if not requests:
            return []
        # A loop of its own per batch: the worker runs on its own thread, outside the server's event loop.
        return asyncio.run(self._send_all(requests))

    async def _send_all(self, requests: Sequence[OutgoingRequest]) -> list[SendOutcome]:
        async with httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False) as client:
            return list(await asyncio.gather(*(self._send(client, request) for request in requests)))

    async def _send(self, client: httpx.AsyncClient, request: OutgoingRequest) -> SendOutcome:
        # httpx's timeouts bound each read; this bounds the whole attempt, so a receiver that trickles its answer
        # cannot hold a delivery (and its lease) for longer.
        try:
            async with asyncio.timeout(self.timeout_seconds):
                stream = client.stream("POST", request.url, content=request.body, headers=dict(request.headers))
                async with stream as response:
                    return SendOutcome(status=response.status_code)
        except TimeoutError:
            return SendOutcome(error=f"No answer within {self.timeout_seconds:g} s.")
        except Exception as exc:  # a sender reports every failure as an outcome; it never raises
            return SendOutcome(error=_error_text(exc))


def _error_text(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR_LENGTH]
