"""Idempotency: replays, conflicts, failed requests, distinct ids and concurrent duplicates."""

from __future__ import annotations

import json

from conformance.assertions import accepted, distinct_ids, one_id, rejected_with, replayed_or_in_use, same_data
from conformance.messages import new_key, unknown_id
from conformance.scenarios.base import ScenarioContext, scenario


@scenario("idempotency.replay", "Same key and same body replays the original: 202 with identical data")
def replay(ctx: ScenarioContext) -> None:
    key, body = new_key("replay"), ctx.messages.direct(message="Conformance: replay.")
    first = ctx.post(body, key=key)
    if ctx.expect(accepted, first, label="first request"):
        ctx.expect(same_data, first, ctx.post(body, key=key), label="replay")


@scenario(
    "idempotency.replay_reordered",
    "Same body means the same JSON value: member order, white space and an explicit default channel replay",
)
def replay_reordered(ctx: ScenarioContext) -> None:
    key, body = new_key("reordered"), ctx.messages.direct(message="Conformance: reordered replay.")
    first = ctx.post(body, key=key)
    if not ctx.expect(accepted, first, label="first request"):
        return
    reordered = json.dumps(dict(reversed(body.items())), indent=3).encode()
    ctx.expect(same_data, first, ctx.post(raw=reordered, key=key), label="members reordered, white space added")
    explicit = {**body, "channel": "direct_message"}
    ctx.expect(same_data, first, ctx.post(explicit, key=key), label="default channel spelled out")


@scenario("idempotency.conflict", "Same key, different body is 409 IDEMPOTENCY_CONFLICT and schedules nothing")
def conflict(ctx: ScenarioContext) -> None:
    key, body = new_key("conflict"), ctx.messages.direct(message="Conformance: conflict, original.")
    first = ctx.post(body, key=key)
    if not ctx.expect(accepted, first, label="first request"):
        return
    other = ctx.post({**body, "message": "Conformance: conflict, different."}, key=key)
    ctx.expect(rejected_with, other, {409}, "IDEMPOTENCY_CONFLICT", label="different message")
    ctx.expect(same_data, first, ctx.post(body, key=key), label="original body after the conflict")


@scenario(
    "idempotency.failed_request_binds_no_key",
    "Only a 202 binds a key: after a 400 or 422 the same key schedules the corrected request",
)
def failed_request_binds_no_key(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct(message="Conformance: retry after a failure.")
    for label, broken, status in (
        ("after a 400", {**body, "message": "   "}, 400),
        ("after a 422", {**body, "prospectId": unknown_id("prs"), "conversationId": None}, 422),
    ):
        key = new_key("unbound")
        failed = ctx.post({k: v for k, v in broken.items() if v is not None}, key=key)
        if ctx.expect(rejected_with, failed, {status}, "VALIDATION_ERROR", label=f"failing request {label}"):
            ctx.expect(accepted, ctx.post(body, key=key), label=f"corrected request {label}")


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
    ctx.expect(same_data, winners[0], ctx.post(body, key=key), label="replay after the race")
