"""Structured JSON logs, one object a line; secrets never get here (keys are logged by name)."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
STACK_FRAMES = 12


def _name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def exception_fields(exc: BaseException | None, tb: TracebackType | None = None) -> dict[str, object]:
    """What a log line says about an exception: its type, its causes' types and where it happened.

    Never its message or the frames' source text: a database error's message carries the SQL's bound
    parameters (phones, e-mails, signer names), and a log is no place for personal data.
    """
    if exc is None:
        return {}
    causes: list[str] = []
    seen, current = {id(exc)}, exc.__cause__ or exc.__context__
    while current is not None and id(current) not in seen and len(causes) < 5:
        seen.add(id(current))
        causes.append(_name(current))
        current = current.__cause__ or current.__context__
    frames = traceback.extract_tb(tb or exc.__traceback__)[-STACK_FRAMES:]
    stack = [f"{frame.filename.rsplit('/site-packages/', 1)[-1]}:{frame.lineno} in {frame.name}" for frame in frames]
    fields: dict[str, object] = {"error_type": _name(exc), "stack": stack}
    if causes:
        fields["error_causes"] = causes
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(exception_fields(record.exc_info[1], record.exc_info[2]))
        return orjson.dumps(entry, default=str).decode()


# Lines log_fast writes from the event loop are held at most this long (or this many), then
# written in one go: one write(2) a request cost a tenth of the check's throughput.
FLUSH_SECONDS = 0.05
FLUSH_LINES = 512


class JsonStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our JSON line handler. Lines written by log_fast on the event loop are gathered and written
    together once per loop iteration (one write instead of one per request); any other record
    first writes those out, so lines keep their order."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.pending: list[str] = []

    def write_pending(self) -> None:
        if not self.pending:
            return
        with self.lock:  # type: ignore[union-attr]  # created with the handler
            lines, self.pending = self.pending, []
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: logging never takes the service down
                pass

    def emit(self, record: logging.LogRecord) -> None:
        self.write_pending()
        super().emit(record)

    def close(self) -> None:
        self.write_pending()
        super().close()


def flush_pending() -> None:
    """Write out the lines log_fast is holding (the lifespan calls this on shutdown)."""
    for handler in logging.getLogger("supportgate").handlers:
        if isinstance(handler, JsonStreamHandler):
            handler.write_pending()


def _sole_json_handler(logger: logging.Logger, level: int) -> JsonStreamHandler | None:
    """The one handler a record of `logger` would reach, if it is our JSON stream handler and no
    filter is on the way; None otherwise (another handler, a filter: let logging do its work)."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        found.extend(current.handlers)
        if not current.propagate:
            break
        current = current.parent
    if len(found) != 1:
        return None
    handler = found[0]
    if type(handler) is not JsonStreamHandler or not isinstance(handler.formatter, JsonFormatter):
        return None
    if handler.filters or level < handler.level:
        return None
    return handler


def log_fast(logger: logging.Logger, level: int, msg: str, fields: dict[str, object]) -> None:
    """logger.log(level, msg, extra=fields), for a line written on every request: with only our
    JSON handler configured, the same line is written directly (a tenth of the cost of a LogRecord,
    the caller lookup and the handler chain); otherwise logging handles it as usual."""
    if not logger.isEnabledFor(level):
        return
    handler = _sole_json_handler(logger, level)
    if handler is None:
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, (), None, extra=fields))
        return
    entry = {"ts": datetime.now(UTC).isoformat(), "level": logging.getLevelName(level).lower(), "logger": logger.name,
             "msg": msg, **fields}
    line = orjson.dumps(entry, default=str).decode() + handler.terminator
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:  # not on the event loop: written at once
        loop = None
    if loop is not None and not handler.pending:
        loop.call_later(FLUSH_SECONDS, handler.write_pending)
    handler.pending.append(line)
    if loop is None or len(handler.pending) >= FLUSH_LINES:
        handler.write_pending()


def configure_logging(level: str = "INFO") -> None:
    # httpx logs every request's full URL at INFO; a URL may carry a token or a signed query, so the
    # outbound client (e-signature and helpdesk APIs) logs warnings only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    root = logging.getLogger("supportgate")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = JsonStreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = True
