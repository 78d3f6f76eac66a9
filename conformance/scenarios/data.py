"""Rules about stored data: unknown prospects and conversations, and the InMail fixture."""

from __future__ import annotations

from conformance.assertions import accepted, rejected_with
from conformance.messages import DEFAULT_CHANNEL, new_key, unknown_id
from conformance.scenarios.base import ScenarioContext, scenario
from conformance.spec_rules import body_validator, enum_members

INELIGIBLE = "the InMail prospect already has a conversation (data condition): 409 INMAIL_NOT_ELIGIBLE"


@scenario(
    "data.unknown_prospect",
    "A prospectId that does not exist in the group is 422 VALIDATION_ERROR with every channel of the spec's "
    "enum (existence is checked before eligibility: an InMail to an unknown prospect is 422, not 409)",
)
def unknown_prospect(ctx: ScenarioContext) -> None:
    is_valid = body_validator(ctx.operation).is_valid
    for channel in enum_members(ctx.operation).get("channel", (DEFAULT_CHANNEL,)):
        message = f"Conformance: unknown prospect, {channel}."
        if channel == DEFAULT_CHANNEL:  # the default channel omitted, with no conversation to resolve
            body, label = {"message": message}, f"channel omitted ({channel})"
        else:
            body, label = ctx.messages.for_channel(channel, message=message), f"channel {channel}"
        body = {**body, "prospectId": unknown_id("prs")}
        if is_valid(body):
            ctx.expect(rejected_with, ctx.post(body, key=new_key("unknown")), {422}, "VALIDATION_ERROR", label=label)


@scenario(
    "data.shape_before_data",
    "The request shape is validated before stored data: a shape error naming an unknown prospect or conversation "
    "is 400 VALIDATION_ERROR, not 422",
)
def shape_before_data(ctx: ScenarioContext) -> None:
    is_valid = body_validator(ctx.operation).is_valid
    unknown_prospect = {"prospectId": unknown_id("prs"), "message": "   "}
    unknown_conversation = ctx.messages.direct(conversationId=unknown_id("cnv"), conformanceUnknown=True)
    for label, body in (
        ("unknown prospect, white-space-only message", unknown_prospect),
        ("unknown conversation, unknown property", unknown_conversation),
    ):
        if not is_valid(body):  # the spec still calls it a shape error
            exchange = ctx.post(body, key=new_key("order"))
            ctx.expect(rejected_with, exchange, {400}, "VALIDATION_ERROR", label=label)


@scenario("data.unknown_conversation", "A conversationId that does not exist in the group is 422 VALIDATION_ERROR")
def unknown_conversation(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct(message="Conformance: unknown conversation.", conversationId=unknown_id("cnv"))
    exchange = ctx.post(body, key=new_key("unknown"))
    ctx.expect(rejected_with, exchange, {422}, "VALIDATION_ERROR")


@scenario(
    "data.inmail_accepted",
    "An InMail to the eligible fixture is accepted (202); 409 INMAIL_NOT_ELIGIBLE is a data condition, "
    "reported as skipped, not passed",
    needs=("inmail_prospect_id",),
)
def inmail_accepted(ctx: ScenarioContext) -> None:
    exchange = ctx.post(ctx.messages.inmail(message="Conformance: InMail."), key=new_key("inmail"))
    if exchange.status == 409 and exchange.error_code == "INMAIL_NOT_ELIGIBLE":
        ctx.result.skip_reason = INELIGIBLE
        return
    ctx.expect(accepted, exchange)
