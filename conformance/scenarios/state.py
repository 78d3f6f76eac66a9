"""The prospect-state rules, provoked through the fixtures' roles as the contract describes them.

`--prospect-id` is connected and has a chat; `--inmail-prospect-id` has no chat yet. An InMail that a server
sends gives its prospect a conversation, so the rule about the InMail prospect runs before every other
scenario, and a 202 there is told apart from the data condition by asking the server about an InMail.
"""

from __future__ import annotations

from conformance.assertions import rejected_with
from conformance.exchange import Exchange
from conformance.messages import new_key
from conformance.results import CheckFailed
from conformance.scenarios.base import FIRST, ScenarioContext, scenario

DATA_CONDITION = (
    "the InMail prospect already has a conversation (an InMail to it was sent, by an earlier run or by this "
    "run's contract phase): a direct message to it is then accepted, so PROSPECT_NOT_CONNECTED cannot be provoked"
)


@scenario(
    "state.prospect_not_connected",
    "A direct message to a prospect with no chat (the InMail fixture, while no InMail to it was sent) is 409 "
    "PROSPECT_NOT_CONNECTED",
    needs=("inmail_prospect_id",),
    order=FIRST,
)
def prospect_not_connected(ctx: ScenarioContext) -> None:
    body = {"prospectId": ctx.settings.inmail_prospect_id, "message": "Conformance: direct message, no chat."}
    exchange = ctx.post(body, key=new_key("state"))
    if exchange.status != 202:
        ctx.expect(rejected_with, exchange, {409}, "PROSPECT_NOT_CONNECTED")
        return
    probe = ctx.post(ctx.messages.inmail(message="Conformance: does the InMail prospect have a conversation?"))
    if probe.status == 409 and probe.error_code == "INMAIL_NOT_ELIGIBLE":
        ctx.result.skip_reason = DATA_CONDITION
        return
    ctx.expect(_state_rejection, exchange, probe)


def _state_rejection(exchange: Exchange, probe: Exchange, *, rule: str) -> None:
    """The direct message was accepted although the server still treats the prospect as chat-less."""
    actual = f"202 to the direct message, then {probe.summary()} to an InMail (the prospect had no conversation)"
    raise CheckFailed(rule, "409 with error.code PROSPECT_NOT_CONNECTED", actual, exchange)


@scenario(
    "state.inmail_not_eligible",
    "An InMail to a prospect who already has a conversation (the --prospect-id fixture) is 409 INMAIL_NOT_ELIGIBLE",
)
def inmail_not_eligible(ctx: ScenarioContext) -> None:
    body = ctx.messages.inmail(
        message="Conformance: InMail to a prospect with a chat.", prospect_id=ctx.settings.prospect_id
    )
    ctx.expect(rejected_with, ctx.post(body, key=new_key("state")), {409}, "INMAIL_NOT_ELIGIBLE")


@scenario(
    "state.foreign_conversation",
    "A direct message naming another prospect's conversation is 422 VALIDATION_ERROR",
    needs=("inmail_prospect_id", "conversation_id"),
)
def foreign_conversation(ctx: ScenarioContext) -> None:
    body = {
        "prospectId": ctx.settings.inmail_prospect_id,
        "message": "Conformance: another prospect's conversation.",
        "conversationId": ctx.settings.conversation_id,
    }
    ctx.expect(rejected_with, ctx.post(body, key=new_key("state")), {422}, "VALIDATION_ERROR")
