"""Secret handling: API keys are looked up by digest, so no comparison ever runs on the key itself."""

from __future__ import annotations

import hashlib
import secrets


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def new_object_id() -> str:
    """24 lowercase hex characters, the shape of Sonarly's ids."""
    return secrets.token_hex(12)
