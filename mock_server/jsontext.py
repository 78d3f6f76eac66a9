"""Compact JSON text for what the mock sends and stores: orjson, with the standard library as the fallback.

Why: `json.dumps` with options other than its defaults builds a new encoder on every call, 2 to 3.5 µs for a
202's envelope; a request encodes three documents (the envelope, the idempotency record, the body's
fingerprint). orjson writes the same bytes in 0.1 to 0.2 µs: compact separators, UTF-8 left as it is (not
`\\u`-escaped), members in their order or sorted by code point (UTF-8 byte order is code point order).
tests/test_jsontext.py holds the two to the same bytes.

orjson refuses what the standard library writes: a lone UTF-16 surrogate (no request body the mock accepts
holds one; `strict_json` refuses them), an integer beyond 64 bits, a key that is not a string. Those take
`json.dumps`, written as before (a lone surrogate as its `surrogatepass` bytes), so a fingerprint stored by an
older mock still matches the same body.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["compact"]


def compact(value: Any, *, sort_keys: bool = False) -> bytes:
    """`value` as compact UTF-8 JSON, members sorted when `sort_keys` (a canonical form to hash)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except orjson.JSONEncodeError:
        text = json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")
