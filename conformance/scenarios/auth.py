"""Authentication and authorization: 401 before 403 before anything about the body."""

from __future__ import annotations

from schemathesis import APIOperation

from conformance.assertions import rejected_with
from conformance.messages import DEFAULT_CHANNEL, new_key, unknown_id
from conformance.scenarios.base import ScenarioContext, scenario
from conformance.spec_rules import request_schema

MALFORMED = b'{"prospectId": "prs_x", "message": '


@scenario("auth.missing_header", "A request without Authorization is 401 UNAUTHORIZED")
def missing_header(ctx: ScenarioContext) -> None:
    exchange = ctx.post(ctx.messages.direct(), api_key=None, key=new_key("auth"))
    ctx.expect(rejected_with, exchange, {401}, "UNAUTHORIZED")


@scenario("auth.wrong_scheme", "An Authorization scheme other than Bearer is 401 UNAUTHORIZED")
def wrong_scheme(ctx: ScenarioContext) -> None:
    key = ctx.settings.api_key
    for header in (f"Basic {key}", f"Token {key}", key):
        exchange = ctx.post(ctx.messages.direct(), authorization=header, key=new_key("auth"))
        ctx.expect(rejected_with, exchange, {401}, "UNAUTHORIZED", label=header.split(" ")[0][:6] + " scheme")


@scenario("auth.unknown_key", "An unknown or empty API key is 401 UNAUTHORIZED")
def unknown_key(ctx: ScenarioContext) -> None:
    for label, header in (("unknown key", f"Bearer {unknown_id('sk_live')}"), ("no key after Bearer", "Bearer")):
        exchange = ctx.post(ctx.messages.direct(), authorization=header, key=new_key("auth"))
        ctx.expect(rejected_with, exchange, {401}, "UNAUTHORIZED", label=label)


@scenario("auth.before_validation", "Authentication is checked before the body: 401 wins over a bad body")
def before_validation(ctx: ScenarioContext) -> None:
    exchange = ctx.post(raw=MALFORMED, api_key=None)
    ctx.expect(rejected_with, exchange, {401}, "UNAUTHORIZED", label="no key, malformed JSON")
    exchange = ctx.post({"unexpected": True}, api_key=unknown_id("sk_live"))
    ctx.expect(rejected_with, exchange, {401}, "UNAUTHORIZED", label="unknown key, invalid body")


@scenario(
    "auth.before_authorization",
    "Authentication is checked before access: without a valid key, an unknown account group is 401, not 403",
)
def before_authorization(ctx: ScenarioContext) -> None:
    group = unknown_id("ag")
    for label, api_key in (("no Authorization header", None), ("unknown key", unknown_id("sk_live"))):
        exchange = ctx.post(ctx.messages.direct(), api_key=api_key, account_group_id=group, key=new_key("auth"))
        ctx.expect(rejected_with, exchange, {401}, "UNAUTHORIZED", label=f"{label}, unknown account group")


@scenario(
    "auth.restricted_key",
    "A valid key without messages:write is 403 FORBIDDEN for every channel, before any body validation",
    needs=("restricted_api_key",),
)
def restricted_key(ctx: ScenarioContext) -> None:
    restricted = ctx.settings.restricted_api_key
    for channel in channels(ctx.operation):
        exchange = ctx.post(ctx.messages.for_channel(channel), api_key=restricted, key=new_key("auth"))
        ctx.expect(rejected_with, exchange, {403}, "FORBIDDEN", label=f"valid {channel} body")
    exchange = ctx.post(raw=MALFORMED, api_key=restricted)
    ctx.expect(rejected_with, exchange, {403}, "FORBIDDEN", label="malformed JSON")


def channels(operation: APIOperation) -> list[str]:
    """The channels the spec's request schema enumerates."""
    channel = request_schema(operation).get("properties", {}).get("channel", {})
    return [str(value) for value in channel.get("enum", [DEFAULT_CHANNEL])]


@scenario(
    "auth.foreign_group",
    "A key without access to the account group is 403 FORBIDDEN, before any body validation",
    needs=("foreign_account_group_id",),
)
def foreign_group(ctx: ScenarioContext) -> None:
    group = ctx.settings.foreign_account_group_id
    exchange = ctx.post(ctx.messages.direct(), account_group_id=group, key=new_key("auth"))
    ctx.expect(rejected_with, exchange, {403}, "FORBIDDEN", label="valid body")
    exchange = ctx.post(raw=MALFORMED, account_group_id=group)
    ctx.expect(rejected_with, exchange, {403}, "FORBIDDEN", label="malformed JSON")


@scenario("auth.unknown_group", "An account group that does not exist is 403 FORBIDDEN, never 404")
def unknown_group(ctx: ScenarioContext) -> None:
    exchange = ctx.post(ctx.messages.direct(), account_group_id=unknown_id("ag"), key=new_key("auth"))
    ctx.expect(rejected_with, exchange, {403}, "FORBIDDEN")
