"""Idempotency: replays, conflicts, failed requests, key case, distinct ids and concurrent duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from conformance.assertions import accepted, distinct_ids, one_id, rejected_with, replayed_or_in_use, same_data
from conformance.exchange import Exchange
from conformance.messages import DEFAULT_CHANNEL, new_key, unknown_id
from conformance.probes import encode
from conformance.scenarios.base import ScenarioContext, scenario
from conformance.scenarios.conflicts import conflicting_bodies
from conformance.spec_rules import additional_properties_allowed, body_validator

# One character of each UTF-8 width beyond ASCII; the last is outside the BMP, so its escape is a surrogate pair.
NON_ASCII = "café, 5 €, 😀"


@scenario("idempotency.replay", "Same key and same body replays the original: 202 with identical data")
def replay(ctx: ScenarioContext) -> None:
    key, body = new_key("replay"), ctx.messages.direct(message="Conformance: replay.")
    first = ctx.post(body, key=key)
    if ctx.expect(accepted, first, label="first request"):
        ctx.expect(same_data, first, ctx.post(body, key=key), label="replay")


@scenario(
    "idempotency.replay_reordered",
    "Same body means the same JSON value after parsing: member order, white space, an explicit default channel "
    "and non-ASCII characters written as \\uXXXX escapes instead of literal UTF-8 all replay (202, same data)",
)
def replay_reordered(ctx: ScenarioContext) -> None:
    key, body = new_key("reordered"), ctx.messages.direct(message=f"Conformance: reordered replay, {NON_ASCII}.")
    first = ctx.post(raw=encode(body), key=key)  # non-ASCII characters as literal UTF-8
    if not ctx.expect(accepted, first, label="first request"):
        return
    reordered = json.dumps(dict(reversed(body.items())), indent=3, ensure_ascii=False).encode()
    ctx.expect(same_data, first, ctx.post(raw=reordered, key=key), label="members reordered, white space added")
    explicit = encode({**body, "channel": DEFAULT_CHANNEL})
    ctx.expect(same_data, first, ctx.post(raw=explicit, key=key), label="default channel spelled out")
    escaped = json.dumps(body, ensure_ascii=True).encode()
    ctx.expect(same_data, first, ctx.post(raw=escaped, key=key), label="non-ASCII characters as \\uXXXX escapes")


@scenario(
    "idempotency.conflict",
    "Same key, different body is 409 IDEMPOTENCY_CONFLICT for a change to any member (changed, added, removed, "
    "or only white space in message); nothing is bound, so the original body still replays",
)
def conflict(ctx: ScenarioContext) -> None:
    key, body = new_key("conflict"), ctx.messages.direct(message="Conformance: conflict, original.")
    first = ctx.post(body, key=key)
    if not ctx.expect(accepted, first, label="first request"):
        return
    refused_then_replayed(ctx, key, first, body, conflicting_bodies(ctx.operation, body), (409, "IDEMPOTENCY_CONFLICT"))


def refused_then_replayed(
    ctx: ScenarioContext,
    key: str,
    first: Exchange,
    body: dict[str, Any],
    others: Iterable[tuple[str, dict[str, Any]]],
    refusal: tuple[int, str],
) -> None:
    """Each other body with the bound key gets `refusal`; none binds anything, so the original still replays."""
    status, code = refusal
    for label, other in others:
        ctx.expect(rejected_with, ctx.post(other, key=key), {status}, code, label=label)
    ctx.expect(same_data, first, ctx.post(body, key=key), label="original body afterwards")


@scenario(
    "idempotency.conflict_inmail",
    "Same key, an InMail body changed in any member (subject included) is 409 IDEMPOTENCY_CONFLICT",
    needs=("inmail_prospect_id",),
)
def conflict_inmail(ctx: ScenarioContext) -> None:
    key, body = new_key("conflict"), ctx.messages.inmail(message="Conformance: InMail conflict, original.")
    first = ctx.post(body, key=key)
    if first.status == 409 and first.error_code == "INMAIL_NOT_ELIGIBLE":
        ctx.result.skip_reason = "the InMail prospect already has a conversation (data condition)"
        return
    if not ctx.expect(accepted, first, label="first request"):
        return
    others = conflicting_bodies(ctx.operation, body, members=("subject", "channel"))
    refused_then_replayed(ctx, key, first, body, others, (409, "IDEMPOTENCY_CONFLICT"))


@scenario(
    "idempotency.failed_request_binds_no_key",
    "Only a 202 binds a key: after a 400, a 422, a prospect-state 409, a 401 or (with --restricted-api-key) a "
    "403, the same key schedules the corrected request",
)
def failed_request_binds_no_key(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct(message="Conformance: retry after a failure.")
    state = ctx.messages.inmail(
        message="Conformance: InMail to a prospect with a chat.", prospect_id=body["prospectId"]
    )
    for label, broken, status, code in (
        ("after a 400", {**body, "message": "   "}, 400, "VALIDATION_ERROR"),
        ("after a 422", {"prospectId": unknown_id("prs"), "message": body["message"]}, 422, "VALIDATION_ERROR"),
        ("after a 409", state, 409, "INMAIL_NOT_ELIGIBLE"),
    ):
        key = new_key("unbound")
        failed = ctx.post(broken, key=key)
        if ctx.expect(rejected_with, failed, {status}, code, label=f"failing request {label}"):
            ctx.expect(accepted, ctx.post(body, key=key), label=f"corrected request {label}")
    key = new_key("unbound")
    unauthenticated = ctx.post(body, key=key, api_key=unknown_id("sk_live"))
    if ctx.expect(rejected_with, unauthenticated, {401}, "UNAUTHORIZED", label="same body with an unknown key"):
        ctx.expect(accepted, ctx.post(body, key=key), label="same body with the writer key after a 401")
    if ctx.settings.restricted_api_key:  # optional: the rest of the check runs without it
        key = new_key("unbound")
        forbidden = ctx.post(body, key=key, api_key=ctx.settings.restricted_api_key)
        if ctx.expect(rejected_with, forbidden, {403}, "FORBIDDEN", label="same body with the restricted key"):
            ctx.expect(accepted, ctx.post(body, key=key), label="same body with the writer key after a 403")


@scenario(
    "idempotency.validation_before_idempotency",
    "The request shape is validated before the key is looked up: a key bound by a 202, sent with a shape-invalid "
    "body (white-space-only message, unknown property), is 400 VALIDATION_ERROR, not 409; the original body "
    "then still replays (202, same data)",
)
def validation_before_idempotency(ctx: ScenarioContext) -> None:
    key, body = new_key("shape"), ctx.messages.direct(message="Conformance: validation before idempotency.")
    first = ctx.post(body, key=key)
    if not ctx.expect(accepted, first, label="first request"):
        return
    is_valid = body_validator(ctx.operation).is_valid
    invalid = [("white-space-only message", {**body, "message": "   "})]
    if not additional_properties_allowed(ctx.operation):
        invalid.append(("unknown property", {**body, "conformanceUnknown": "x"}))
    shape_errors = [(label, other) for label, other in invalid if not is_valid(other)]
    refused_then_replayed(ctx, key, first, body, shape_errors, (400, "VALIDATION_ERROR"))


@scenario(
    "idempotency.key_case_sensitive",
    "Keys are compared byte for byte: two keys that differ only in letter case schedule two responses",
)
def key_case_sensitive(ctx: ScenarioContext) -> None:
    key, body = new_key("Case"), ctx.messages.direct(message="Conformance: key case.")
    exchanges = [ctx.post(body, key=variant) for variant in (key, key.lower())]
    if all(ctx.expect(accepted, exchange, label=f"key {i + 1}") for i, exchange in enumerate(exchanges)):
        ctx.expect(distinct_ids, exchanges)


@scenario("idempotency.distinct_keys", "Different keys schedule different responses (distinct ids)")
def distinct_keys(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct(message="Conformance: distinct keys.")
    exchanges = [ctx.post(body, key=new_key("distinct")) for _ in range(2)]
    if all(ctx.expect(accepted, exchange) for exchange in exchanges):
        ctx.expect(distinct_ids, exchanges)


@scenario("idempotency.keyless_distinct", "Without a key every valid request schedules a new response")
def keyless_distinct(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct(message="Conformance: keyless repeat.")
    exchanges = [ctx.post(body) for _ in range(2)]
    if all(ctx.expect(accepted, exchange) for exchange in exchanges):
        ctx.expect(distinct_ids, exchanges)


@scenario(
    "idempotency.concurrent_duplicates",
    "Concurrent duplicates never schedule twice: one id, the rest replay or get 409 IDEMPOTENCY_KEY_IN_USE",
)
def concurrent_duplicates(ctx: ScenarioContext) -> None:
    key, body = new_key("concurrent"), ctx.messages.direct(message="Conformance: concurrent duplicates.")
    request = ctx.messages.post(body, key=key)
    exchanges = ctx.send_together([request] * ctx.profile.concurrent_duplicates)
    for exchange in exchanges:
        ctx.expect(replayed_or_in_use, exchange, label="each duplicate")
    winners = [exchange for exchange in exchanges if exchange.status == 202]
    if not ctx.expect(accepted, winners[0] if winners else exchanges[0], label="at least one 202"):
        return
    ctx.expect(one_id, winners, label="ids of the concurrent 202s")
    for exchange in winners[1:]:
        ctx.expect(same_data, winners[0], exchange, label="data of every concurrent 202")
    ctx.expect(same_data, winners[0], ctx.post(body, key=key), label="replay after the race")
