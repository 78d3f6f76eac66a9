"""One-line curl reproductions with secrets redacted."""

from __future__ import annotations

import re
import shlex

from conformance.exchange import Outgoing
from conformance.redaction import Redactor

_SKIPPED_HEADERS = {"content-length", "host", "accept-encoding", "connection", "user-agent", "accept"}


def _quote(text: str) -> str:
    """Single-quote text, but keep `${VAR}` placeholders expandable by the shell."""
    if "${" not in text:
        return shlex.quote(text)
    escaped = re.sub(r'([\\"`])', r"\\\1", text)
    escaped = re.sub(r"\$(?!\{SONARLY_)", r"\\$", escaped)
    return '"' + escaped + '"'


def to_curl(request: Outgoing, redact: Redactor) -> str:
    """A shell command that sends the same request; keys appear as ${SONARLY_...} variables."""
    parts = ["curl", "-sS", "-i", "-X", request.method, _quote(redact(request.url))]
    for name, value in request.headers.items():
        if name.lower() not in _SKIPPED_HEADERS:
            parts += ["-H", _quote(redact(f"{name}: {value}"))]
    if request.body is not None:
        text = request.body.decode("utf-8", errors="backslashreplace")
        parts += ["--data-binary", _quote(redact(text))]
    return " ".join(parts)
