"""jsonschema-rs decides "valid" on the hot path; it must agree with the Python validator that words errors.

If the two disagreed, the mock would accept a body its own error messages call invalid (or the reverse).
"""

from __future__ import annotations

import pytest
import yaml
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

import contract_rules as rules
from mock_server.http.validation import VALIDATORS, body_problems, compiled_body_problems
from openapi import CONTRACT_SPEC, CONTROL_SPEC

CONTRACT = resolve_refs(yaml.safe_load(CONTRACT_SPEC.read_text(encoding="utf-8")))
CONTROL = resolve_refs(yaml.safe_load(CONTROL_SPEC.read_text(encoding="utf-8")))
REQUEST = CONTRACT["components"]["schemas"]["QueueMessageResponseRequest"]
IDEMPOTENCY_KEY = CONTRACT["components"]["parameters"]["IdempotencyKey"]["schema"]
TRICKY = "a \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\x7f~!é"


def python_verdict(schema, instance) -> bool:
    return Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).is_valid(instance)


text = (
    st.text(alphabet=st.sampled_from(TRICKY), max_size=6)
    | st.text(max_size=4)
    | st.sampled_from(["x" * 128, "x" * 129, "x" * 200, "x" * 201, "x" * 1900, "x" * 1901, "x" * 8000, "x" * 8001, ""])
)
values = text | st.sampled_from(["direct_message", "inmail", "prs_ada_lovelace"]) | st.none() | st.integers()
bodies = (
    st.dictionaries(st.sampled_from(["prospectId", "message", "channel", "conversationId", "subject", "extra"]), values)
    | st.lists(values, max_size=2)
    | values
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(bodies)
def test_fast_and_python_validators_agree_on_request_bodies(body):
    assert VALIDATORS.fast(REQUEST).is_valid(body) == python_verdict(REQUEST, body), body


members = st.sampled_from(["prospectId", "message", "channel", "conversationId", "subject", "extra", "9lives", "sk_x"])
nested = st.recursive(values | st.booleans() | st.floats(allow_nan=False), lambda inner: st.lists(inner, max_size=2)
                      | st.dictionaries(members, inner, max_size=2), max_leaves=4)  # fmt: skip


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(members, nested) | nested)
@example({"channel": "inmail", "message": 123, "conversationId": "cnv_ada_lovelace", "unknownMember": True})
@example({"prospectId": "", "message": " ", "channel": "fax", "subject": "s", "extra": 1, "9lives": 2})
def test_the_fast_path_words_every_body_problem_as_the_full_path_does(body):
    """The fast path words a 400 from the compiled validator's errors: the same lines, in the same order, as the
    full path's Python validator, or a client would see one invalid body described two ways."""
    assert compiled_body_problems(REQUEST, body) == body_problems(REQUEST, body), body


@pytest.mark.parametrize("rule", rules.BODY_RULES, ids=[rule.name for rule in rules.BODY_RULES])
def test_fast_validator_agrees_with_the_rule_table(rule):
    assert VALIDATORS.fast(REQUEST).is_valid(rule.body) == rule.valid


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=260))
@example("0\n")  # Python's `$` also matches before a final newline; the spec's pattern must not let it
def test_fast_and_python_validators_agree_on_idempotency_keys(key):
    assert VALIDATORS.fast(IDEMPOTENCY_KEY).is_valid(key) == python_verdict(IDEMPOTENCY_KEY, key), repr(key)


@pytest.mark.parametrize(
    "name, instance",
    [
        ("ClockChange", {"now": "2026-06-10T14:00:00Z"}),
        ("ClockChange", {"now": "yesterday"}),
        ("ClockChange", {}),
        ("ClockAdvance", {"seconds": -1}),
        ("FaultRequest", {"status": 503}),
        ("Fixtures", {"accountGroups": [], "apiKeys": []}),
    ],
)
def test_fast_and_python_validators_agree_on_control_bodies(name, instance):
    schema = CONTROL["components"]["schemas"][name]
    assert VALIDATORS.fast(schema).is_valid(instance) == python_verdict(schema, instance)
