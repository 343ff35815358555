"""The console's live updates (docs/console.md): the process's one HistoryWatcher feeds a broadcaster that fans a
"job history changed" event out to every open event stream of this process. The event says only that something
changed (the page reads what it shows again), so a stream holds at most one pending event and a slow client loses
nothing by missing the ones in between; events are sent at most once per `debounce_seconds`, so a burst of
completions costs each page one refresh."""

import asyncio
import time
import weakref
from collections.abc import AsyncIterator

from orchjobs.api.context import AppContext
from orchjobs.service.history_watch import HistoryWatcher

HEARTBEAT_SECONDS = 15.0
# Tells EventSource how long to wait before reconnecting after the stream ended (a restart, a lost connection).
RETRY_MILLISECONDS = 3000
# How long a new stream waits for the process's watcher to listen before it says it is live anyway.
_READY_SECONDS = 5.0
_CLOSED = "closed"
_CHANGED = "changed"
# Every broadcaster of this process, so that the server's shutdown can end their streams (serving.py).
_LIVE: "weakref.WeakSet[HistoryBroadcaster]" = weakref.WeakSet()


class HistoryBroadcaster:
    def __init__(self, context: AppContext, *, debounce_seconds: float = 1.0) -> None:
        self._context = context
        self._debounce = debounce_seconds
        self._streams: set[asyncio.Queue[str]] = set()
        self._watcher: HistoryWatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_sent = 0.0
        self._pending: asyncio.TimerHandle | None = None
        self.closed = False
        _LIVE.add(self)

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    async def _start_watching(self) -> None:
        """On the first page: a process that serves no page holds no listening connection. Returns once the watcher
        listens, so that a page told it is live misses no change after that."""
        if self._watcher is None:
            self._loop = asyncio.get_running_loop()
            self._watcher = HistoryWatcher(
                self._context.engine,
                self._changed_threadsafe,
                poll_seconds=self._context.settings.console_poll_seconds,
            )
            self._watcher.start()
        deadline = time.monotonic() + _READY_SECONDS
        while not self._watcher.ready.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def _changed_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._changed)

    def _changed(self) -> None:
        if self._pending is not None or self.closed:
            return  # already due: this change rides along
        wait = self._last_sent + self._debounce - time.monotonic()
        if wait > 0:
            self._pending = asyncio.get_running_loop().call_later(wait, self._send)
        else:
            self._send()

    def _send(self) -> None:
        self._pending = None
        self._last_sent = time.monotonic()
        for queue in self._streams:
            if queue.empty():
                queue.put_nowait(_CHANGED)

    def close(self) -> None:
        """Ends every stream (the server is shutting down) and stops the watcher's connection."""
        self.closed = True
        if self._pending is not None:
            self._pending.cancel()
        for queue in self._streams:
            if not queue.empty():
                queue.get_nowait()
            queue.put_nowait(_CLOSED)

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    async def stream(self) -> AsyncIterator[str]:
        """The text/event-stream of one page: `ready` once listening, a `history` event after each change, a
        comment as heartbeat."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._streams.add(queue)
        try:
            await self._start_watching()
            # `ready`: the page may say it is live; changes from now on reach it.
            yield f"retry: {RETRY_MILLISECONDS}\nevent: ready\ndata: live\n\n"
            while not self.closed:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if item == _CLOSED:
                    return
                yield "event: history\ndata: changed\n\n"
        finally:
            self._streams.discard(queue)


def end_all_streams() -> None:
    """The server is shutting down: the open event streams end now rather than hold the shutdown for its timeout."""
    for broadcaster in list(_LIVE):
        broadcaster.close()
