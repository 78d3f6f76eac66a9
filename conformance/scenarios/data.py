"""Rules about stored data: unknown prospects and conversations, and the InMail fixture."""

from __future__ import annotations

from conformance.assertions import accepted, rejected_with
from conformance.messages import new_key, unknown_id
from conformance.scenarios.base import ScenarioContext, scenario


@scenario("data.unknown_prospect", "A prospectId that does not exist in the group is 422 VALIDATION_ERROR")
def unknown_prospect(ctx: ScenarioContext) -> None:
    body = {"prospectId": unknown_id("prs"), "message": "Conformance: unknown prospect."}
    exchange = ctx.post(body, key=new_key("unknown"))
    ctx.expect(rejected_with, exchange, {422}, "VALIDATION_ERROR")


@scenario("data.unknown_conversation", "A conversationId that does not exist in the group is 422 VALIDATION_ERROR")
def unknown_conversation(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct(message="Conformance: unknown conversation.", conversationId=unknown_id("cnv"))
    exchange = ctx.post(body, key=new_key("unknown"))
    ctx.expect(rejected_with, exchange, {422}, "VALIDATION_ERROR")


@scenario(
    "data.inmail_accepted",
    "An InMail to the eligible fixture is accepted (409 INMAIL_NOT_ELIGIBLE is a data condition)",
    needs=("inmail_prospect_id",),
)
def inmail_accepted(ctx: ScenarioContext) -> None:
    key = new_key("inmail")
    exchange = ctx.post(ctx.messages.inmail(message="Conformance: InMail."), key=key)
    ctx.expect(accepted, exchange, True)
