"""openapi/sonarly.yaml is a valid OAS 3.0.3 document, its examples conform, and its request rules bite.

Why: the document is the project's single source of truth. The mock is generated from it and conformance
checks other servers against it, so a rule missing here is missing everywhere.
"""

import copy
from functools import cache
from pathlib import Path

import h11
import pytest
import yaml
from connexion.json_schema import resolve_refs
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

import contract_rules as rules
from support.openapi_examples import iter_examples, resolve_pointer, schema_errors
from support.schema_rules import (
    IDEMPOTENCY_KEY_SCHEMA,
    REQUEST_SCHEMA,
    VALIDATORS,
    Validate,
    error_fields,
    load_document,
)

DOCUMENT = load_document()
CONTRACT_PATH = "/v1/accounts/{accountGroupId}/messages/responses"
OPERATION = DOCUMENT["paths"][CONTRACT_PATH]["post"]
EXAMPLES = list(iter_examples(DOCUMENT))
# Today: 2 request examples, 2 parameter examples, 4 inline and 6 component response examples.
MIN_EXAMPLES = 14
DEMO_DATA = Path(__file__).resolve().parents[1] / "mock_server" / "data" / "demo.yaml"


@cache
def validator(name: str, ref: str) -> Validate:
    return VALIDATORS[name](ref)


# --- The document itself ---------------------------------------------------------------------------------


def test_document_is_openapi_3_0_3():
    assert DOCUMENT["openapi"] == "3.0.3"  # connexion 3.3 cannot load 3.1


def test_document_passes_openapi_spec_validator():
    validate(copy.deepcopy(DOCUMENT), cls=OpenAPIV30SpecValidator)


def test_spec_validator_rejects_a_broken_copy():
    broken = copy.deepcopy(DOCUMENT)
    broken["paths"][CONTRACT_PATH]["post"]["parameters"].append({"name": "x", "in": "nowhere"})
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV30SpecValidator)


# --- Every example validates against its own schema ------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.location.removeprefix("#/") for example in EXAMPLES])
def test_example_validates_against_its_schema(example):
    errors = schema_errors(DOCUMENT, example.schema, example.value)
    assert not errors, "\n".join(f"{list(error.absolute_path)}: {error.message}" for error in errors)


def test_walker_finds_examples_of_every_kind():
    locations = [example.location for example in EXAMPLES]
    assert len(locations) >= MIN_EXAMPLES, locations
    assert sum("/requestBody/" in location for location in locations) == 2
    assert sum(location.startswith("#/components/parameters/") for location in locations) == 2


@pytest.mark.parametrize("status", sorted(OPERATION["responses"]))
def test_every_documented_response_has_an_example_the_walker_checks(status):
    response = OPERATION["responses"][status]
    pointer = response.get("$ref", f"#/paths/{CONTRACT_PATH.replace('/', '~1')}/post/responses/{status}")
    media = resolve_pointer(DOCUMENT, pointer)["content"]["application/json"]
    assert "example" in media or media.get("examples"), f"{status} has no example"
    assert any(example.location.startswith(f"{pointer}/content/") for example in EXAMPLES)


def test_a_broken_example_of_each_kind_is_caught():
    broken = copy.deepcopy(DOCUMENT)
    operation = broken["paths"][CONTRACT_PATH]["post"]
    operation["responses"]["202"]["content"]["application/json"]["examples"]["scheduled"]["value"]["error"] = {}
    del operation["requestBody"]["content"]["application/json"]["examples"]["inmail"]["value"]["subject"]
    broken["components"]["responses"]["Forbidden"]["content"]["application/json"]["example"]["data"] = {}
    broken["components"]["parameters"]["IdempotencyKey"]["example"] = "has space"
    failing = {
        example.location for example in iter_examples(broken) if schema_errors(broken, example.schema, example.value)
    }
    assert {location.rsplit("/", 3)[-2] for location in failing if "/examples/" in location} == {"scheduled", "inmail"}
    assert {location.split("/")[3] for location in failing if location.startswith("#/components/")} == {
        "Forbidden",
        "IdempotencyKey",
    }


# --- The request rules, as a table shared with the HTTP suite --------------------------------------------


# `not: {type: object, required: [...]}` in the conditional rules keeps a non-object body from also failing
# them: such a body must fail for its type alone.
REJECTED = [pytest.param(rule, id=rule.name) for rule in rules.BODY_RULES if not rule.valid]


@pytest.mark.parametrize("validator_name", sorted(VALIDATORS))
@pytest.mark.parametrize("rule", rules.BODY_RULES, ids=[rule.name for rule in rules.BODY_RULES])
def test_request_body_rule(rule, validator_name):
    errors = validator(validator_name, REQUEST_SCHEMA)(rule.body)
    messages = [f"{list(error.absolute_path)} {error.message}" for error in errors]
    assert (errors == []) == rule.valid, messages or "accepted a body the contract rejects"


@pytest.mark.parametrize("validator_name", sorted(VALIDATORS))
@pytest.mark.parametrize("rule", REJECTED)
def test_rejected_body_fails_for_exactly_its_fields(rule, validator_name):
    errors = validator(validator_name, REQUEST_SCHEMA)(rule.body)
    messages = [f"{list(error.absolute_path)} {error.message}" for error in errors]
    assert error_fields(errors) == set(rule.fields), messages


def test_rule_names_are_unique():
    names = [rule.name for rule in rules.BODY_RULES]
    assert len(names) == len(set(names))


def _length_limits(schema, limits=None):
    """(property, keyword, value) for every minLength/maxLength on a property, conditional rules included."""
    limits = set() if limits is None else limits
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            limits.update((name, key, sub[key]) for key in ("minLength", "maxLength") if key in sub)
        for value in schema.values():
            _length_limits(value, limits)
    elif isinstance(schema, list):
        for value in schema:
            _length_limits(value, limits)
    return limits


def _lengths(field, valid):
    return {
        (len(rule.body[field]), tuple(rule.fields))
        for rule in rules.BODY_RULES
        if rule.valid == valid and isinstance(rule.body, dict) and isinstance(rule.body.get(field), str)
    }


@pytest.mark.parametrize(
    "field, keyword, limit",
    sorted(_length_limits(resolve_pointer(resolve_refs(DOCUMENT), REQUEST_SCHEMA))),
)
def test_table_has_rows_at_and_one_past_every_length_limit(field, keyword, limit):
    past = limit + 1 if keyword == "maxLength" else limit - 1
    assert limit in {length for length, _ in _lengths(field, valid=True)}, f"no valid row with {limit} chars"
    assert any(length == past and field in fields for length, fields in _lengths(field, valid=False)), (
        f"no invalid row with {past} chars naming {field}"
    )


def _demo_group():
    demo = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    keys = {key["key"]: key for key in demo["apiKeys"]}
    writer = keys[rules.WRITER_API_KEY]
    assert "messages:write" in writer["permissions"] and rules.ACCOUNT_GROUP_ID in writer["accountGroups"]
    return next(group for group in demo["accountGroups"] if group["id"] == rules.ACCOUNT_GROUP_ID)


def test_accepted_rows_match_the_demo_fixtures():
    prospects = {prospect["id"]: prospect for prospect in _demo_group()["prospects"]}
    conversations = {cnv for prospect in prospects.values() for cnv in prospect["conversations"]}
    for rule in (rule for rule in rules.BODY_RULES if rule.valid):
        body, prospect = rule.body, prospects.get(rule.body["prospectId"])
        if rule.http_status == 422:
            missing = body[rule.fields[0]]
            assert missing not in prospects and missing not in conversations, rule.name
        elif body.get("channel", "direct_message") == "direct_message":
            assert prospect and prospect["connected"] and prospect["conversations"], rule.name
            assert body.get("conversationId", prospect["conversations"][0]) in prospect["conversations"], rule.name
        else:
            assert prospect and not prospect["conversations"] and prospect.get("inmailEligible", True), rule.name


# --- Idempotency-Key: 1..255 visible ASCII characters ----------------------------------------------------


@pytest.mark.parametrize("validator_name", sorted(VALIDATORS))
@pytest.mark.parametrize("case", rules.IDEMPOTENCY_KEY_CASES, ids=[case.name for case in rules.IDEMPOTENCY_KEY_CASES])
def test_idempotency_key_rule(case, validator_name):
    errors = validator(validator_name, IDEMPOTENCY_KEY_SCHEMA)(case.value)
    assert (errors == []) == case.valid, [error.message for error in errors]


@pytest.mark.parametrize("case", rules.IDEMPOTENCY_KEY_CASES, ids=[case.name for case in rules.IDEMPOTENCY_KEY_CASES])
def test_idempotency_key_over_http_flag_matches_what_an_http_client_can_send(case):
    headers = [("Host", "mock"), ("Content-Length", "0"), ("Idempotency-Key", case.header_value)]
    try:
        h11.Connection(h11.CLIENT).send(h11.Request(method="POST", target="/", headers=headers))
        sendable = True
    except h11.LocalProtocolError:
        sendable = False
    assert sendable == case.over_http
