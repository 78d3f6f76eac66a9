"""The mock's terminal output: one line per request, like Prism's, as text for people or JSON for tools.

Everything the mock says goes through the `sonarly_mock` loggers; `sonarly_mock.requests` carries the
request log. `configure_logging` is called once per process (the CLI, and each uvicorn worker through
`app_from_environment`), so it replaces its own handler rather than adding one per call.

The request log never carries a secret: paths are bounded and stripped of anything shaped like an API
key before they are written (the recorder passes no header values at all), and so are the mock's other
messages (an unexpected error's text may quote what a client sent).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Final

from mock_server.domain.redaction import bound, redact_keys

ROOT_LOGGER: Final = "sonarly_mock"
REQUEST_LOGGER: Final = "sonarly_mock.requests"
LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS: Final = ("text", "json")
MAX_LOGGED_PATH: Final = 2048

_HANDLER_MARK: Final = "_sonarly_mock_handler"
_request_logger = logging.getLogger(REQUEST_LOGGER)


@dataclass(frozen=True)
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
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(colour=_wants_colour(sys.stderr)))
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    # Our handler is the only one: a root handler (logging.basicConfig) would print every line twice.
    root.propagate = False


def request_log_enabled(level: int) -> bool:
    """Whether a request line at `level` would be written (so the recorder builds none when it would not)."""
    return _request_logger.isEnabledFor(level)


def log_request(line: RequestLine, level: int = logging.INFO) -> None:
    """Write one request line; the path is bounded and any key-shaped text in it is masked."""
    if not _request_logger.isEnabledFor(level):
        return
    safe = RequestLine(
        method=line.method,
        path=_printable(bound(redact_keys(line.path), MAX_LOGGED_PATH)),
        status=line.status,
        code=line.code,
        duration_ms=line.duration_ms,
        session=line.session,
        trace_id=line.trace_id,
        fault=line.fault,
    )
    # Built directly: Logger.log would walk the stack for a caller no formatter here prints (a third of the cost).
    record = _request_logger.makeRecord(
        REQUEST_LOGGER, level, __file__, 0, "%s %s %s", (safe.method, safe.path, safe.status), None
    )
    record.request = safe
    _request_logger.handle(record)


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
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        line: RequestLine | None = getattr(record, "request", None)
        if line is None:
            text = f"{stamp} {record.levelname.lower()} {record.getMessage()}"
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
            return redact_keys(text)
        status = f"{line.status or '-'}" + (f" {line.code}" if line.code else "")
        if self.colour:
            status = f"{self._COLOURS.get((line.status or 0) // 100, '')}{status}{self._RESET}"
        return (
            f"{stamp} {line.method} {line.path} {status} {line.duration_ms:.1f}ms "
            f"session={line.session or '-'} trace={line.trace_id}"
            + ("" if line.fault is None else f" fault={line.fault}")
        )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (UTC ISO), `level`, then the request's fields or a `message`."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {"time": created.replace("+00:00", "Z"), "level": record.levelname.lower()}
        line: RequestLine | None = getattr(record, "request", None)
        if line is not None:
            out.update(line.fields())
        else:
            out["message"] = redact_keys(record.getMessage())
            if record.exc_info:
                out["exception"] = redact_keys(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))
