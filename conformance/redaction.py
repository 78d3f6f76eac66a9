"""Replaces API keys in any text before it leaves the process."""

from __future__ import annotations

from collections.abc import Iterable

PLACEHOLDERS = {"api_key": "${SONARLY_API_KEY}", "restricted_api_key": "${SONARLY_RESTRICTED_API_KEY}"}


class Redactor:
    """Maps each secret to a shell-variable placeholder, so a redacted curl line still runs after `export`."""

    def __init__(self, secrets: Iterable[tuple[str, str]]) -> None:
        pairs = [(secret, placeholder) for secret, placeholder in secrets if secret]
        self._pairs = sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)

    @classmethod
    def for_settings(cls, api_key: str, restricted_api_key: str | None) -> Redactor:
        """A redactor for the two configured keys."""
        return cls(
            [
                (api_key, PLACEHOLDERS["api_key"]),
                (restricted_api_key or "", PLACEHOLDERS["restricted_api_key"]),
            ]
        )

    def __call__(self, text: str) -> str:
        for secret, placeholder in self._pairs:
            text = text.replace(secret, placeholder)
        return text
