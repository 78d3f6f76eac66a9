"""Keeping secrets and size out of what the mock records: the journal and the request log share these rules.

A key value must never be stored or printed, even when a client pastes one into a body or a path, and a
stranger's 65,000-character path must cost a bounded number of bytes. Both rules leave a visible marker, so
a reader knows something was cut or hidden rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

REDACTED: Final = "[redacted]"
# Anything shaped like a Sonarly key (`sk_live_...`, `sk_test_...`), whoever's it is.
KEY_SHAPE: Final = re.compile(r"sk_(?:live|test)_[A-Za-z0-9_\-]+")
# A secret shorter than this is not searched for: masking every "a" in a body would make it unreadable,
# and a key that short is not a secret worth the name.
MIN_SECRET_CHARS: Final = 8


def redact_keys(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each given secret (the bearer token a request carried) and every key-shaped value masked."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_CHARS and secret in text:
            text = text.replace(secret, REDACTED)
    if "sk_" not in text:
        return text
    return KEY_SHAPE.sub(REDACTED, text)


def bound(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, then `…[truncated N chars]` naming how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"
