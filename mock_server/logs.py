"""The mock's terminal output: one line per request, like Prism's, as text for people or JSON for tools.

Everything the mock says goes through the `sonarly_mock` loggers; `sonarly_mock.requests` carries the
request log. `configure_logging` is called once per process (the CLI, and each uvicorn worker through
`app_from_environment`), so it replaces its own handler rather than adding one per call.

The request log never carries a secret: paths are bounded and stripped of anything shaped like an API
key before they are written (the recorder passes no header values at all), and so are the mock's other
messages (an unexpected error's text may quote what a client sent).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, Any, Final

from mock_server.domain.redaction import bound, redact_keys

ROOT_LOGGER: Final = "sonarly_mock"
REQUEST_LOGGER: Final = "sonarly_mock.requests"
LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS: Final = ("text", "json")
MAX_LOGGED_PATH: Final = 2048
FLUSH_EVERY: Final = 0.05  # seconds a line may wait before it reaches the terminal
MAX_BATCH: Final = 1000  # lines held at most (a blocked loop flushes at once past it)

_HANDLER_MARK: Final = "_sonarly_mock_handler"
_request_logger = logging.getLogger(REQUEST_LOGGER)
_root_logger = logging.getLogger(ROOT_LOGGER)  # looked up once: getLogger takes the logging module's lock


@dataclass(slots=True)  # built for every request: a plain slotted init costs a third of a frozen one
class RequestLine:
    """What one request's log line says: no headers, no bodies, no key values."""

    method: str
    path: str
    status: int | None  # None: the app ended without starting a response (a dropped connection)
    code: str | None
    duration_ms: float
    session: str | None
    trace_id: str
    fault: int | None = None  # the id of the injected fault that answered the request

    def fields(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "code": self.code,
            "durationMs": round(self.duration_ms, 2),
            "session": self.session,
            "traceId": self.trace_id,
            "fault": self.fault,
        }


def configure_logging(level: str, fmt: str) -> None:
    """Route the `sonarly_mock` loggers to stderr at `level` (debug/info/warning/error) in `fmt` (text/json).

    Unknown values are a ValueError naming the choices (the CLI validates first, so users see a usage error).
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger(ROOT_LOGGER)
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = BatchedStreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(colour=_wants_colour(sys.stderr)))
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    # Our handler is the only one: a root handler (logging.basicConfig) would print every line twice.
    root.propagate = False


class BatchedStreamHandler(logging.StreamHandler):
    """Each line is formatted at once and written with the lines around it, at most FLUSH_EVERY later.

    Why: Python's stderr is line-buffered, so a line per request was a system call per request; measured in
    the server it cost about 25 us a request (`bench/`), as much as the rest of the log line. Lines reach the
    terminal in one write per batch, in order; outside an event loop (start-up, shutdown, threads) at once.
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.add_line(text)

    def request_line(self, line: RequestLine, created: float, level: str) -> str:
        """The request line as this handler's formatter writes it (see `log_request`)."""
        formatter = self.formatter
        assert isinstance(formatter, TextFormatter | JsonFormatter)  # checked by _only_handler
        return formatter.request_line(line, created, level)

    def add_line(self, text: str) -> None:
        self._lines.append(text)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if len(self._lines) >= MAX_BATCH:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_later(FLUSH_EVERY, self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            self._scheduled = False
            if self._lines:
                text = "\n".join(self._lines) + "\n"
                self._lines.clear()
                self.stream.write(text)
            super().flush()
        finally:
            self.release()


def request_log_enabled(level: int) -> bool:
    """Whether a request line at `level` would be written (so the recorder builds none when it would not)."""
    return _request_logger.isEnabledFor(level)


def log_request(line: RequestLine, level: int = logging.INFO) -> None:
    """Write one request line; the path is bounded and any key-shaped text in it is masked."""
    if not _request_logger.isEnabledFor(level):
        return
    if len(line.path) > MAX_LOGGED_PATH or "sk_" in line.path or not line.path.isprintable():
        line = replace(line, path=_printable(bound(redact_keys(line.path), MAX_LOGGED_PATH)))
    handler = _only_handler()
    if handler is not None:
        handler.add_line(handler.request_line(line, time.time(), logging.getLevelName(level).lower()))
        return
    # Built directly: Logger.log would walk the stack for a caller no formatter here prints (a third of the cost).
    record = _request_logger.makeRecord(
        REQUEST_LOGGER, level, __file__, 0, "%s %s %s", (line.method, line.path, line.status), None
    )
    record.request = line
    _request_logger.handle(record)


def _only_handler() -> BatchedStreamHandler | None:
    """Our handler, when it is the only place request lines go (as `configure_logging` leaves it): then a
    line skips the LogRecord and the handler's lock, which cost as much as the rest of the line. With any
    other handler or filter attached, lines take the standard logging path."""
    root = _root_logger
    if _request_logger.handlers or _request_logger.filters or root.filters or len(root.handlers) != 1:
        return None
    handler = root.handlers[0]
    if not isinstance(handler, BatchedStreamHandler) or handler.filters:
        return None
    return handler if isinstance(handler.formatter, TextFormatter | JsonFormatter) else None


def _printable(text: str) -> str:
    """Control characters percent-encoded: a path must not start a fake log line or move the cursor."""
    if not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return text
    return "".join(f"%{ord(c):02X}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


def _wants_colour(stream: IO[str]) -> bool:
    """Colour only for a person at a terminal (and never with NO_COLOR set, per no-color.org)."""
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


class TextFormatter(logging.Formatter):
    """`12:03:04.123 POST /v1/... 409 IDEMPOTENCY_CONFLICT 3.2ms session=default trace=…` per request."""

    _COLOURS: Final = {2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}
    _RESET: Final = "\x1b[0m"

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        line: RequestLine | None = getattr(record, "request", None)
        if line is not None:
            return self.request_line(line, record.created, record.levelname.lower())
        text = f"{_stamp(record.created)} {record.levelname.lower()} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact_keys(text)

    def request_line(self, line: RequestLine, created: float, level: str) -> str:
        status = f"{line.status or '-'}" + (f" {line.code}" if line.code else "")
        if self.colour:
            status = f"{self._COLOURS.get((line.status or 0) // 100, '')}{status}{self._RESET}"
        return (
            f"{_stamp(created)} {line.method} {line.path} {status} {line.duration_ms:.1f}ms "
            f"session={line.session or '-'} trace={line.trace_id}"
            + ("" if line.fault is None else f" fault={line.fault}")
        )


def _stamp(created: float) -> str:
    """Local wall time with milliseconds, as a person at the terminal reads the clock."""
    global _second_shown
    second, shown = _second_shown
    if int(created) != second:  # thousands of lines share a second: format it once
        second, shown = _second_shown = int(created), time.strftime("%H:%M:%S", time.localtime(created))
    return f"{shown}.{int(created * 1000) % 1000:03d}"


_second_shown: tuple[int, str] = (-1, "")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (UTC ISO), `level`, then the request's fields or a `message`."""

    def format(self, record: logging.LogRecord) -> str:
        line: RequestLine | None = getattr(record, "request", None)
        if line is not None:
            return self.request_line(line, record.created, record.levelname.lower())
        out = _json_head(record.created, record.levelname.lower())
        out["message"] = redact_keys(record.getMessage())
        if record.exc_info:
            out["exception"] = redact_keys(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))

    def request_line(self, line: RequestLine, created: float, level: str) -> str:
        return json.dumps(_json_head(created, level) | line.fields(), ensure_ascii=False, separators=(",", ":"))


def _json_head(created: float, level: str) -> dict[str, Any]:
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return {"time": moment.replace("+00:00", "Z"), "level": level}
