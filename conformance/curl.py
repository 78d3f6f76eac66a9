"""One-line curl reproductions that replay the exact request bytes, with secrets as ${SONARLY_...} variables.

Printable text is single-quoted. A header with bytes a terminal cannot show uses bash's $'...' quoting with
\\xHH escapes. A body that is not printable UTF-8 (control bytes, invalid UTF-8, new lines) is piped in from
`printf` with octal escapes (`printf '\\000...' | curl --data-binary @-`), so pasting the line sends the same
bytes. Secrets become "${VAR}" pieces joined to the quoted text, so the line still runs after `export`.
"""

from __future__ import annotations

import re
import shlex

from conformance.exchange import Outgoing
from conformance.redaction import Redactor

_SKIPPED_HEADERS = {"content-length", "host", "accept-encoding", "connection", "user-agent", "accept"}
_PRINTABLE_ASCII = re.compile(r"[ -~]*")
_PRINTF_LITERAL = {ord("'"): "\\047", ord("\\"): "\\\\", ord("%"): "%%"}


def _printable(text: str) -> bool:
    return text.isprintable()  # False for every control, surrogate, separator and format character


def _ansi_c(text: str) -> str:
    """bash $'...' quoting: header bytes go on the wire as Latin-1 (UTF-8 beyond it), each escaped."""
    out = []
    for char in text:
        if char.isprintable() and char.isascii() and char not in "'\\":
            out.append(char)
        else:
            data = char.encode("latin-1") if ord(char) < 0x100 else char.encode("utf-8", "surrogateescape")
            out.extend(f"\\x{byte:02x}" for byte in data)
    return "$'" + "".join(out) + "'"


def shell_word(text: str, redact: Redactor, structural: tuple[str, str] | None = None) -> str:
    """One shell word that expands to `text`, with every secret as a "${VAR}" expansion.

    `structural` = (prefix, value) quotes `prefix` and replaces `value` by its placeholder when it is a
    secret, whatever its length (an Authorization header), instead of searching the text for keys.
    """
    if structural is not None and (placeholder := redact.placeholder(structural[1])) is not None:
        pieces = [(structural[0], False), (placeholder, True)]
    else:
        pieces = list(redact.segments(text))
    quoted = []
    for piece, is_variable in pieces:
        if is_variable:
            quoted.append(f'"{piece}"')
        elif _printable(piece):
            quoted.append(shlex.quote(piece))
        else:
            quoted.append(_ansi_c(piece))
    return "".join(quoted) or "''"


def _header_word(name: str, value: str, redact: Redactor) -> str:
    text = f"{name}: {value}"
    if name.lower() in {"authorization", "proxy-authorization"} and " " in value:
        scheme, token = value.split(" ", 1)
        return shell_word(text, redact, (f"{name}: {scheme} ", token))
    return shell_word(text, redact, (f"{name}: ", value))


def printf_command(body: bytes, redact: Redactor) -> str:
    """`printf '<octal escapes>' ["${VAR}"...]` writing exactly `body` (secrets passed as %s arguments)."""
    text = body.decode("utf-8", "surrogateescape")
    fmt, args = [], []
    for piece, is_variable in redact.segments(text):
        if is_variable:
            fmt.append("%s")
            args.append(f'"{piece}"')
            continue
        for byte in piece.encode("utf-8", "surrogateescape"):
            if 0x20 <= byte < 0x7F:
                fmt.append(_PRINTF_LITERAL.get(byte, chr(byte)))
            else:
                fmt.append(f"\\{byte:03o}")
    return " ".join(["printf", "'" + "".join(fmt) + "'", *args])


def _needs_printf(body: bytes) -> bool:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return not _printable(text) or text.startswith("@")  # curl reads `@name` as a file name


def to_curl(request: Outgoing, redact: Redactor) -> str:
    """A shell command line that sends the same request bytes; keys appear as ${SONARLY_...} variables."""
    parts = ["curl", "-sS", "-i", "-X", shell_word(request.method, redact), shell_word(request.url, redact)]
    for name, value in request.headers.items():
        if name.lower() not in _SKIPPED_HEADERS:
            parts += ["-H", _header_word(name, value, redact)]
    if request.body is None:
        return " ".join(parts)
    if request.header("Content-Type") is None:
        parts += ["-H", "'Content-Type:'"]  # curl would otherwise add a form Content-Type to a body
    if _needs_printf(request.body):
        return printf_command(request.body, redact) + " | " + " ".join([*parts, "--data-binary", "@-"])
    return " ".join([*parts, "--data-binary", shell_word(request.body.decode("utf-8"), redact)])
