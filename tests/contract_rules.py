"""The request rules of the contract as plain data, shared by the schema tests and the HTTP tests.

Why one table: tests/test_contract_document.py proves the OpenAPI schema encodes each rule; the HTTP suite
sends the very same bodies to the running mock. A rule added here is checked in both places at once.

Schema-valid rows use the demo fixtures of mock_server/data/demo.yaml (account group `ag_acme`), so the mock
answers them with 202; schema-valid rows that must use IDs the fixtures lack (length boundaries of IDs) expect
422. Use a fresh mock session per row: an accepted InMail to Grace Hopper makes her ineligible once sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ACCOUNT_GROUP_ID = "ag_acme"
WRITER_API_KEY = "sk_test_acme_writer"  # messages:write on ag_acme
DM_PROSPECT_ID = "prs_ada_lovelace"  # connected, chat `cnv_ada_lovelace`
DM_CONVERSATION_ID = "cnv_ada_lovelace"
INMAIL_PROSPECT_ID = "prs_grace_hopper"  # eligible for a new InMail


@dataclass(frozen=True)
class BodyRule:
    """One request body and what the contract says about it.

    `fields`: for an invalid row, exactly the properties the schema errors name (the mock's 400
    `error.details` must mention each). For a valid row, empty when the mock must answer 202, or the
    property whose stored data is missing when it must answer 422 (its `error.details` must mention it).
    """

    name: str
    body: Any
    valid: bool
    fields: tuple[str, ...] = ()

    @property
    def http_status(self) -> int:
        """What the mock returns for this body with the demo fixtures and a writer key for `ag_acme`."""
        if not self.valid:
            return 400
        return 422 if self.fields else 202

    @property
    def content(self) -> bytes:
        """The body as sent. Use `content=`, not `json=`: httpx sends no body at all for `json=None`."""
        return json.dumps(self.body).encode("utf-8")


@dataclass(frozen=True)
class IdempotencyKeyCase:
    """One `Idempotency-Key` value. `over_http` is False when no HTTP/1.1 client can send it unchanged
    (h11 refuses leading or trailing white space, NUL and line breaks), so only the schema can judge it."""

    name: str
    value: str
    valid: bool
    over_http: bool = True

    @property
    def is_http_field_value(self) -> bool:
        """RFC 9110 field values are visible ASCII, obs-text, space and tab: DEL is not, and a server's
        HTTP parser may refuse the whole request before the application can name the header."""
        return all(ch in " \t" or 0x21 <= ord(ch) <= 0x7E or ord(ch) >= 0x80 for ch in self.value)

    @property
    def header_value(self) -> bytes:
        """UTF-8 bytes: httpx refuses non-ASCII `str` header values, yet the server must see them rejected."""
        return self.value.encode("utf-8")


def dm(**fields: Any) -> dict[str, Any]:
    """A valid direct message to the connected demo prospect, with `fields` added or replaced."""
    return {"prospectId": DM_PROSPECT_ID, "message": "Thanks, I will send details this afternoon.", **fields}


def inmail(**fields: Any) -> dict[str, Any]:
    """A valid InMail to the eligible demo prospect, with `fields` added or replaced."""
    body = {"prospectId": INMAIL_PROSPECT_ID, "message": "Hi Grace, could we compare notes?"}
    return {**body, "channel": "inmail", "subject": "Compilers and outbound tooling", **fields}


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """`body` minus some properties, for "required" rows."""
    return {key: value for key, value in body.items() if key not in names}


ACCEPTED_BODIES: list[BodyRule] = [
    BodyRule("dm_minimal_channel_omitted", dm(), True),
    BodyRule("dm_explicit_channel", dm(channel="direct_message"), True),
    BodyRule("dm_conversation_channel_omitted", dm(conversationId=DM_CONVERSATION_ID), True),
    BodyRule(
        "dm_conversation_explicit_channel",
        dm(channel="direct_message", conversationId=DM_CONVERSATION_ID),
        True,
    ),
    BodyRule("inmail_minimal", inmail(), True),
    BodyRule("message_1_char", dm(message="x"), True),
    BodyRule("message_8000_chars_channel_omitted", dm(message="x" * 8000), True),
    BodyRule("message_8000_chars_explicit_dm", dm(channel="direct_message", message="x" * 8000), True),
    BodyRule("message_8000_code_points_astral", dm(message="\U0001f600" * 8000), True),
    BodyRule("message_1901_chars_dm_inmail_limit_not_applied", dm(message="x" * 1901), True),
    BodyRule("message_1900_chars_inmail", inmail(message="x" * 1900), True),
    BodyRule("message_white_space_around_text", dm(message=" \n\tHi\u00a0 "), True),
    BodyRule("subject_1_char_inmail", inmail(subject="S"), True),
    BodyRule("subject_200_chars_inmail", inmail(subject="s" * 200), True),
    # Schema-valid, but no such record in the demo data: 422 from the mock.
    BodyRule("prospect_id_1_char", dm(prospectId="p"), True, ("prospectId",)),
    BodyRule("prospect_id_128_chars", dm(prospectId="p" * 128), True, ("prospectId",)),
    BodyRule("conversation_id_1_char", dm(conversationId="c"), True, ("conversationId",)),
    BodyRule("conversation_id_128_chars", dm(conversationId="c" * 128), True, ("conversationId",)),
]

REJECTED_FIELD_VALUES: list[BodyRule] = [
    BodyRule("prospect_id_missing", without(dm(), "prospectId"), False, ("prospectId",)),
    BodyRule("prospect_id_empty", dm(prospectId=""), False, ("prospectId",)),
    BodyRule("prospect_id_129_chars", dm(prospectId="p" * 129), False, ("prospectId",)),
    BodyRule("prospect_id_number", dm(prospectId=42), False, ("prospectId",)),
    BodyRule("prospect_id_null", dm(prospectId=None), False, ("prospectId",)),
    BodyRule("message_missing", without(dm(), "message"), False, ("message",)),
    BodyRule("message_empty", dm(message=""), False, ("message",)),
    BodyRule("message_8001_chars_channel_omitted", dm(message="x" * 8001), False, ("message",)),
    BodyRule("message_8001_chars_inmail", inmail(message="x" * 8001), False, ("message",)),
    BodyRule("message_1901_chars_inmail", inmail(message="x" * 1901), False, ("message",)),
    BodyRule("message_one_space", dm(message=" "), False, ("message",)),
    BodyRule("message_only_ascii_white_space", dm(message=" \t\r\n "), False, ("message",)),
    BodyRule("message_only_unicode_white_space", dm(message="\u00a0\u2003\u3000"), False, ("message",)),
    BodyRule("message_number", dm(message=7), False, ("message",)),
    BodyRule("message_null", dm(message=None), False, ("message",)),
    BodyRule("channel_unknown", dm(channel="email"), False, ("channel",)),
    BodyRule("channel_wrong_case", dm(channel="INMAIL"), False, ("channel",)),
    BodyRule("channel_empty", dm(channel=""), False, ("channel",)),
    BodyRule("channel_null", dm(channel=None), False, ("channel",)),
    BodyRule("conversation_id_empty", dm(conversationId=""), False, ("conversationId",)),
    BodyRule("conversation_id_129_chars", dm(conversationId="c" * 129), False, ("conversationId",)),
    BodyRule("conversation_id_number", dm(conversationId=1), False, ("conversationId",)),
]

REJECTED_CONDITIONAL_RULES: list[BodyRule] = [
    BodyRule("conversation_id_with_inmail", inmail(conversationId=DM_CONVERSATION_ID), False, ("conversationId",)),
    BodyRule("subject_missing_inmail", without(inmail(), "subject"), False, ("subject",)),
    BodyRule("subject_empty_inmail", inmail(subject=""), False, ("subject",)),
    BodyRule("subject_201_chars_inmail", inmail(subject="s" * 201), False, ("subject",)),
    BodyRule("subject_null_inmail", inmail(subject=None), False, ("subject",)),
    BodyRule("subject_with_channel_omitted", dm(subject="Hello"), False, ("subject",)),
    BodyRule("subject_with_explicit_dm", dm(channel="direct_message", subject="Hello"), False, ("subject",)),
    BodyRule("subject_empty_with_dm", dm(subject=""), False, ("subject",)),
    BodyRule(
        "inmail_every_conditional_rule_broken",
        without(inmail(message="x" * 1901, conversationId=DM_CONVERSATION_ID), "subject"),
        False,
        ("conversationId", "message", "subject"),
    ),
    BodyRule("empty_object", {}, False, ("message", "prospectId")),
]

REJECTED_SHAPES: list[BodyRule] = [
    BodyRule("unknown_property", dm(priority="high"), False, ("priority",)),
    BodyRule("unknown_property_null", dm(priority=None), False, ("priority",)),
    BodyRule("unknown_property_case_variant", dm(Message="Hi"), False, ("Message",)),
    BodyRule("unknown_property_from_response", dm(scheduledAt="2026-04-28T15:30:00.000Z"), False, ("scheduledAt",)),
    # Not an object: there is no field to name; the 400 VALIDATION_ERROR is what counts.
    BodyRule("body_array_of_valid_body", [dm()], False),
    BodyRule("body_empty_array", [], False),
    BodyRule("body_string", "hello", False),
    BodyRule("body_null", None, False),
    BodyRule("body_number", 42, False),
    BodyRule("body_boolean", True, False),
]

BODY_RULES: list[BodyRule] = ACCEPTED_BODIES + REJECTED_FIELD_VALUES + REJECTED_CONDITIONAL_RULES + REJECTED_SHAPES

IDEMPOTENCY_KEY_CASES: list[IdempotencyKeyCase] = [
    IdempotencyKeyCase("one_char", "a", True),
    IdempotencyKeyCase("lowest_visible_char", "!", True),
    IdempotencyKeyCase("highest_visible_char", "~", True),
    IdempotencyKeyCase("every_visible_char", "".join(chr(code) for code in range(0x21, 0x7F)), True),
    IdempotencyKeyCase("255_chars", "k" * 255, True),
    IdempotencyKeyCase("uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", True),
    IdempotencyKeyCase("json_like", '{"retry":1}', True),
    IdempotencyKeyCase("empty", "", False),
    IdempotencyKeyCase("256_chars", "k" * 256, False),
    IdempotencyKeyCase("inner_space", "retry 1", False),
    IdempotencyKeyCase("inner_tab", "retry\t1", False),
    IdempotencyKeyCase("delete_char", "retry\x7f", False),
    IdempotencyKeyCase("latin1_letter", "clé", False),
    IdempotencyKeyCase("cyrillic", "ключ", False),
    IdempotencyKeyCase("leading_space", " retry", False, over_http=False),
    IdempotencyKeyCase("trailing_space", "retry ", False, over_http=False),
    IdempotencyKeyCase("line_break", "retry\n1", False, over_http=False),
    IdempotencyKeyCase("nul", "retry\x001", False, over_http=False),
]
