"""Cancel a read in the database when its client disconnects, instead of computing an answer no one will read.

For GET and HEAD requests (no body, and every costly query is one), a watcher takes over the ASGI `receive`
channel at once: it hands the app the (empty) request message, then waits for `http.disconnect`. A disconnect
before the response is complete cancels the request's CancelToken, which stops the statement running for it.
"""

import asyncio
import logging
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchjobs.service.database import CancelToken, cancellable

log = logging.getLogger(__name__)

_WATCHED_METHODS = frozenset({"GET", "HEAD"})


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WATCHED_METHODS:
            await self.app(scope, receive, send)
            return
        token = CancelToken()
        answered = False
        messages: asyncio.Queue[Message] = asyncio.Queue()

        async def watch() -> None:
            while True:
                message = await receive()
                messages.put_nowait(message)
                if message["type"] == "http.disconnect":
                    if not answered:
                        log.info("client of %s %s disconnected before its answer", scope["method"], scope["path"])
                        await asyncio.to_thread(token.cancel)
                    return

        async def receive_from_watcher() -> Message:
            return await messages.get()

        async def send_noting_the_end(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        watcher = asyncio.create_task(watch())
        try:
            with cancellable(token):
                await self.app(scope, receive_from_watcher, send_noting_the_end)
        finally:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher
