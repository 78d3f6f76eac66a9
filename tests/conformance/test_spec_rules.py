# ruff: noqa: RUF001  (the probe labels spell counts with the multiplication sign)
"""The validation probes follow the loaded spec: edit a limit, an enum, a conditional rule or a pattern in a
copy of openapi/sonarly.yaml and what the kit would send changes with it, no other edit needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from schemathesis import APIOperation

from conformance import spec_rules
from conformance.contract import load_operation
from conformance.messages import Messages
from conformance.probes import ACCEPTED, INMAIL_INELIGIBLE, SHAPE_ERROR, UNKNOWN_REFERENCE, Probe, key_probes
from conformance.scenarios import validation
from conformance.settings import Settings
from openapi import CONTRACT_SPEC

SETTINGS = Settings(
    base_url="http://127.0.0.1:9",
    api_key="sk_test_x",
    account_group_id="ag_acme",
    prospect_id="prs_ada_lovelace",
    conversation_id="cnv_ada_lovelace",
    inmail_prospect_id="prs_grace_hopper",
)
MESSAGES = Messages(SETTINGS)
Edit = Callable[[dict[str, Any]], None]


def _request(document: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"]["QueueMessageResponseRequest"]


def edited(tmp_path: Path, edit: Edit) -> APIOperation:
    """The operation of a copy of the contract with `edit` applied."""
    document = yaml.safe_load(CONTRACT_SPEC.read_text())
    edit(document)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return load_operation(path)


def labels(probes: list[Probe]) -> dict[str, Probe]:
    return {probe.label: probe for probe in probes}


@pytest.fixture(scope="module")
def contract() -> APIOperation:
    return load_operation(CONTRACT_SPEC)


def test_limits_at_the_edge_with_every_utf8_width(contract: APIOperation) -> None:
    probes = labels(validation.length_probes(contract, MESSAGES))
    assert probes["message of 8000 × '😀' (4-byte) with channel omitted"].expect == ACCEPTED
    assert probes["message of 8001 × 'é' (2-byte) with channel omitted"].expect == SHAPE_ERROR
    assert probes["prospectId of 128 × '€' (3-byte) with channel omitted"].expect == UNKNOWN_REFERENCE
    assert probes["prospectId of 129 × 'a' (1-byte) with channel omitted"].expect == SHAPE_ERROR
    assert probes["subject of 200 × '😀' (4-byte) with channel inmail"].expect == ACCEPTED | {INMAIL_INELIGIBLE}
    assert "empty conversationId with channel omitted" in probes
    assert len(probes["message of 8000 × '😀' (4-byte) with channel omitted"].wire()) > 32000  # raw UTF-8


def test_changing_max_length_changes_the_probes(contract: APIOperation, tmp_path: Path) -> None:
    def shorter(document: dict[str, Any]) -> None:
        _request(document)["properties"]["message"]["maxLength"] = 50
        _request(document)["allOf"][3]["anyOf"][1]["properties"]["message"]["maxLength"] = 40

    probes = labels(validation.length_probes(edited(tmp_path, shorter), MESSAGES))
    assert probes["message of 50 × '😀' (4-byte) with channel omitted"].expect == ACCEPTED
    assert probes["message of 51 × 'a' (1-byte) with channel omitted"].expect == SHAPE_ERROR
    assert not any("8000" in label or "8001" in label for label in probes)
    conditional = labels(validation.conditional_probes(edited(tmp_path, shorter), MESSAGES))
    assert "message of 41 × '€' (3-byte) with channel inmail" in conditional
    assert not any("1900" in label for label in conditional)


def test_a_new_min_length_probes_below_and_at_it_with_every_width(tmp_path: Path) -> None:
    def longer(document: dict[str, Any]) -> None:
        _request(document)["properties"]["subject"]["minLength"] = 3

    probes = labels(validation.length_probes(edited(tmp_path, longer), MESSAGES))
    assert probes["subject of 2 × '😀' (4-byte) with channel inmail"].expect == SHAPE_ERROR
    assert SHAPE_ERROR != probes["subject of 3 × '😀' (4-byte) with channel inmail"].expect


def test_conditional_rules_are_read_from_the_all_of(contract: APIOperation) -> None:
    rules = {(rule.kind, rule.member, rule.context, rule.limit) for rule in spec_rules.conditional_rules(contract)}
    assert rules == {
        ("required", "subject", (("channel", "inmail"),), None),
        ("forbidden", "subject", (), None),
        ("forbidden", "subject", (("channel", "direct_message"),), None),
        ("forbidden", "conversationId", (("channel", "inmail"),), None),
        ("max_length", "message", (("channel", "inmail"),), 1900),
    }
    probes = labels(validation.conditional_probes(contract, MESSAGES))
    assert 'subject "Conformance" with channel omitted (subject: not allowed when channel is direct_message)' in probes
    assert probes["message of 1900 × '😀' (4-byte) with channel inmail"].expect == ACCEPTED | {INMAIL_INELIGIBLE}
    assert probes["message of 1901 × '😀' (4-byte) with channel inmail"].expect == SHAPE_ERROR


def test_a_new_conditional_rule_and_enum_value_are_probed(tmp_path: Path) -> None:
    def sms(document: dict[str, Any]) -> None:
        _request(document)["properties"]["channel"]["enum"].append("sms")
        _request(document)["allOf"].append(
            {
                "title": "subject: at most 20 characters with sms",
                "anyOf": [
                    {"not": {"required": ["channel"], "properties": {"channel": {"enum": ["sms"]}}}},
                    {"properties": {"subject": {"maxLength": 20}}},
                ],
            }
        )
        del _request(document)["allOf"][1]  # subject no longer forbidden with direct_message

    operation = edited(tmp_path, sms)
    conditional = labels(validation.conditional_probes(operation, MESSAGES))
    assert conditional["subject of 21 × '😀' (4-byte) with channel sms"].expect == SHAPE_ERROR
    assert "subject of 20 × 'a' (1-byte) with channel sms" not in conditional  # no fixture for sms: refusals only
    assert not any("subject" in label and "omitted" in label for label in conditional)
    enums = labels(validation.enum_probes(operation, MESSAGES))
    assert enums['channel "SMS" (variant of sms)'].expect == SHAPE_ERROR
    assert 'channel "sms"' not in enums  # no fixture fits sms: its acceptance is not asserted


def test_blank_characters_come_from_the_pattern(contract: APIOperation, tmp_path: Path) -> None:
    probes = labels(validation.blank_probes(contract, MESSAGES))
    assert probes["message of 3 × U+3000 IDEOGRAPHIC SPACE"].expect == SHAPE_ERROR
    assert probes["message of 3 × U+FEFF ZERO WIDTH NO-BREAK SPACE"].expect == SHAPE_ERROR
    assert probes["message of 3 × U+001C (not white space for the contract)"].expect == ACCEPTED
    assert probes["message of 3 × U+200B ZERO WIDTH SPACE (not white space for the contract)"].expect == ACCEPTED
    assert sum(probe.expect == SHAPE_ERROR for probe in probes.values()) == 26

    def zwsp_blank(document: dict[str, Any]) -> None:
        message = _request(document)["properties"]["message"]
        message["pattern"] = message["pattern"].replace("\\u3000", "\\u3000\\u200b")

    changed = labels(validation.blank_probes(edited(tmp_path, zwsp_blank), MESSAGES))
    assert changed["message of 3 × U+200B ZERO WIDTH SPACE"].expect == SHAPE_ERROR


def test_types_enums_required_and_unknown_members(contract: APIOperation) -> None:
    types = labels(validation.type_probes(contract, MESSAGES))
    assert {"subject: null with channel omitted", "subject: null with channel inmail"} <= set(types)
    assert {
        "prospectId: 42 (integer)",
        "channel: true (boolean)",
        'message: ["Conformance check: direct message."] (array)',
    } <= set(types)
    assert 'channel: "42" (string)' not in types  # a string is channel's own type: the enum check covers it
    enums = labels(validation.enum_probes(contract, MESSAGES))
    assert {'channel "INMAIL" (variant of inmail)', 'channel "Direct_Message" (variant of direct_message)'} <= set(
        enums
    )
    assert enums['channel "inmail"'].expect == ACCEPTED | {INMAIL_INELIGIBLE}
    required = labels(validation.required_probes(contract, MESSAGES))
    assert set(required) == {"prospectId missing", "message missing", "empty object {}"}
    assert len(validation.unknown_property_probes(contract, MESSAGES)) == 3


def test_dropping_a_rule_from_the_spec_drops_its_refusals(tmp_path: Path) -> None:
    def loose(document: dict[str, Any]) -> None:
        _request(document)["additionalProperties"] = True
        _request(document)["required"] = ["prospectId"]
        _request(document)["properties"]["subject"]["nullable"] = True  # OpenAPI 3.0: Draft 4 ignores it
        _request(document)["properties"]["subject"]["type"] = ["string", "null"]

    operation = edited(tmp_path, loose)
    assert validation.unknown_property_probes(operation, MESSAGES) == []
    assert set(labels(validation.required_probes(operation, MESSAGES))) == {"prospectId missing", "empty object {}"}
    assert not any(label.startswith("subject: null") for label in labels(validation.type_probes(operation, MESSAGES)))


def test_idempotency_key_probes_follow_the_header_schema(contract: APIOperation, tmp_path: Path) -> None:
    probes = labels(key_probes(contract, MESSAGES))
    assert probes["Idempotency-Key of 255 characters"].expect == ACCEPTED
    assert len(probes["Idempotency-Key of 255 characters"].key or "") == 255
    assert probes["Idempotency-Key of 256 characters"].expect == SHAPE_ERROR
    assert probes["Idempotency-Key empty"].expect == SHAPE_ERROR
    assert {"Idempotency-Key with byte 0x20 inside", "Idempotency-Key with byte 0x80 inside"} <= set(probes)
    assert "Idempotency-Key with byte 0x7F inside" not in probes  # no HTTP server lets DEL through
    every = probes["Idempotency-Key made of the allowed characters '!'..'~'"]
    assert set(map(chr, range(0x21, 0x7F))) <= set(every.key or "")

    def shorter(document: dict[str, Any]) -> None:
        document["components"]["parameters"]["IdempotencyKey"]["schema"]["maxLength"] = 64

    changed = labels(key_probes(edited(tmp_path, shorter), MESSAGES))
    assert changed["Idempotency-Key of 65 characters"].expect == SHAPE_ERROR
    assert "Idempotency-Key of 256 characters" not in changed
    allowed = [probe for label, probe in changed.items() if "allowed characters" in label]
    assert len(allowed) > 1 and all(len(probe.key or "") <= 64 for probe in allowed)


def test_framing_probes_follow_media_types_and_size_limit(contract: APIOperation, tmp_path: Path) -> None:
    media = labels(validation.media_type_probes(contract, MESSAGES))
    assert media["Content-Type: application/json; charset=utf-8"].expect == ACCEPTED
    assert media["no Content-Type header with a JSON body"].content_type is None
    size = validation.body_size_probes(contract, MESSAGES)
    assert [(len(probe.wire()), probe.expect) for probe in size] == [(1048576, ACCEPTED), (1048577, SHAPE_ERROR)]

    def smaller(document: dict[str, Any]) -> None:
        operation = document["paths"]["/v1/accounts/{accountGroupId}/messages/responses"]["post"]
        operation["description"] = operation["description"].replace("over 1 MiB", "over 64 KiB")

    assert [len(probe.wire()) for probe in validation.body_size_probes(edited(tmp_path, smaller), MESSAGES)] == [
        65536,
        65537,
    ]


def test_every_probe_agrees_with_the_schema(contract: APIOperation) -> None:
    is_valid = spec_rules.body_validator(contract).is_valid
    for _, _, build in validation.CHECKS:
        for probe in build(contract, MESSAGES):
            if probe.raw is None and probe.key is None:
                assert is_valid(probe.body) == (probe.expect != SHAPE_ERROR), probe.label
