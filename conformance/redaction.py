"""Everything a text goes through before it leaves the process: secrets replaced, unsafe characters escaped.

Redaction maps each secret to a shell-variable placeholder, so a redacted curl line still runs after
`export`. A long key is replaced wherever it occurs; a short one (a test key such as `abc`) only where it
stands as a whole token, so redacting it never garbles unrelated words that happen to contain it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

PLACEHOLDERS = {"api_key": "${SONARLY_API_KEY}", "restricted_api_key": "${SONARLY_RESTRICTED_API_KEY}"}
SHORT_SECRET = 16  # below this length a key is only replaced at token boundaries
_WORD = r"[A-Za-z0-9_\-]"
# C0 and C1 controls, DEL, lone surrogates (invalid UTF-8 decoded with surrogateescape), the BMP
# non-characters XML forbids, line/paragraph separators and bidi overrides that would rearrange a terminal line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _HasSecrets(Protocol):
    @property
    def api_key(self) -> str: ...

    @property
    def restricted_api_key(self) -> str | None: ...

    @property
    def extra_headers(self) -> tuple[tuple[str, str], ...]: ...


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as `surrogateescape` decodes it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """Escape every character a terminal or an XML 1.0 document cannot take verbatim (except those in `keep`)."""
    return _UNSAFE.sub(lambda match: match.group() if match.group() in keep else _escape(match.group()), text)


def header_placeholder(name: str) -> str:
    """The variable a --header value is replaced by, e.g. ${SONARLY_HEADER_X_GATEWAY_KEY}."""
    return "${SONARLY_HEADER_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "}"


class Redactor:
    """Replaces each secret by its placeholder; `segments` exposes the split for shell quoting."""

    def __init__(self, secrets: Iterable[tuple[str, str]]) -> None:
        pairs = [(secret, placeholder) for secret, placeholder in secrets if secret]
        self._pairs = sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)
        patterns = [
            re.escape(secret) if len(secret) >= SHORT_SECRET else f"(?<!{_WORD}){re.escape(secret)}(?!{_WORD})"
            for secret, _ in self._pairs
        ]
        self._pattern = re.compile("|".join(patterns)) if patterns else None
        self._placeholders = dict(self._pairs)

    @classmethod
    def for_settings(cls, settings: _HasSecrets) -> Redactor:
        """A redactor for the configured keys and the values of every --header."""
        pairs = [
            (settings.api_key, PLACEHOLDERS["api_key"]),
            (settings.restricted_api_key or "", PLACEHOLDERS["restricted_api_key"]),
        ]
        pairs += [(value, header_placeholder(name)) for name, value in settings.extra_headers]
        return cls(pairs)

    def placeholder(self, value: str) -> str | None:
        """The placeholder of a value that IS a secret (structural redaction, whatever the key's length)."""
        return self._placeholders.get(value)

    def segments(self, text: str) -> Sequence[tuple[str, bool]]:
        """`text` cut into (literal, False) and (placeholder, True) pieces, in order."""
        if self._pattern is None:
            return [(text, False)] if text else []
        pieces: list[tuple[str, bool]] = []
        position = 0
        for match in self._pattern.finditer(text):
            if match.start() > position:
                pieces.append((text[position : match.start()], False))
            pieces.append((self._placeholders[match.group()], True))
            position = match.end()
        if position < len(text):
            pieces.append((text[position:], False))
        return pieces

    def __call__(self, text: str) -> str:
        return "".join(piece for piece, _ in self.segments(text))
