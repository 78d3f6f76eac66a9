"""`compact` writes the bytes the standard library wrote before it: a fingerprint stored by an older mock must
still match the same body, and a client that compared response bytes must see no change."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.idempotency import fingerprint
from mock_server.jsontext import compact

# Every code point but the surrogates (what a JSON body can hold once strict_json has read it).
TEXT = st.text(st.characters(exclude_categories=["Cs"]))
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner) | st.dictionaries(TEXT, inner), max_leaves=20)


def reference(value: Any, sort_keys: bool = False) -> bytes:
    """What the mock wrote before orjson."""
    text = json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


@given(VALUES)
def test_compact_writes_the_standard_librarys_bytes(value: Any) -> None:
    assert compact(value) == reference(value)


@given(st.dictionaries(TEXT, VALUES))
def test_sorted_members_sort_as_python_sorts_them(value: dict[str, Any]) -> None:
    assert compact(value, sort_keys=True) == reference(value, sort_keys=True)


@given(st.fixed_dictionaries({"prospectId": TEXT, "message": TEXT}, optional={"channel": TEXT, "subject": TEXT}))
def test_a_bodys_fingerprint_is_the_one_older_state_files_hold(body: dict[str, Any]) -> None:
    canonical = {"channel": "direct_message", **body}
    assert fingerprint(body) == hashlib.sha256(reference(canonical, sort_keys=True)).hexdigest()


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    lone_surrogate = {"message": "a\ud800b"}
    huge = {"n": 2**70}
    assert compact(lone_surrogate) == reference(lone_surrogate) == b'{"message":"a\xed\xa0\x80b"}'
    assert compact(huge) == b'{"n":1180591620717411303424}'
    assert compact({1: "x"}) == b'{"1":"x"}'
