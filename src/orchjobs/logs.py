"""The server's log lines: plain text by default, one JSON object per line with ORCHJOBS_LOG_FORMAT=json.

A record's fields (the request log's method, route, status…) travel as `extra` attributes: the plain formatter has
them in its message already, the JSON formatter writes each as a key of its own."""

import atexit
import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlainFormatter(logging.Formatter):
    """`2026-11-30T01:02:03.456Z INFO orchjobs.access message`."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """`{"time": …, "level": …, "logger": …, "message": …, <extra fields>}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else PlainFormatter()


# How long a line may wait in the buffer before it is written: short enough for an operator following the log.
FLUSH_SECONDS = 0.25


class _BufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines into a buffer that a timer thread empties every FLUSH_SECONDS (and at exit), instead of one
    write per line. A write is a system call that lets go of the interpreter lock: made from the event loop's thread
    for each request, it handed the lock to a worker thread and left the loop waiting to get it back, which cost the
    orchestrator protocol's calls about 15 %."""

    def flush(self) -> None:
        """Nothing at each line; `write_out` empties the buffer."""

    def write_out(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.stream.flush()


_writer: _BufferedHandler | None = None


def configure_logging(*, kind: str, level: str) -> None:
    """Send the `orchjobs` loggers to standard error in the chosen format, at the chosen level. A server process
    calls it once, before it builds its app; uvicorn's own loggers keep their format and their stream. Records
    carry no caller, thread or process details, which no line shows."""
    global _writer
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the documented switch that spares each record a walk up the stack for its caller
    if _writer is None:
        stream = open(sys.stderr.fileno(), "w", buffering=1 << 16, encoding="utf-8", closefd=False)  # noqa: SIM115
        _writer = _BufferedHandler(stream)
        threading.Thread(target=_write_out_every_moment, name="orchjobs-log-writer", daemon=True).start()
        atexit.register(_writer.write_out)
    _writer.setFormatter(formatter(kind))
    logger = logging.getLogger("orchjobs")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(_writer)
    logger.setLevel(level)
    logger.propagate = False


def _write_out_every_moment() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        if _writer is not None:
            _writer.write_out()
