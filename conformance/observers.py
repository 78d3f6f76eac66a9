"""Checks judged over every exchange of the run, whichever phase sent it (preflight and contract included).

The rules themselves are plain functions in `conformance.invariants`; this module decides which exchanges
each one judges and tallies the result under a stable check name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from schemathesis import APIOperation
from schemathesis.core.failures import Failure, FailureGroup

from conformance.assertions import describe
from conformance.exchange import Exchange
from conformance.invariants import (
    channel_echoed,
    claims_replay,
    conversation_id_for_channel,
    envelope_consistent,
    error_code_for_status,
    idempotency_key_echoed,
    no_api_key,
    retry_after_valid,
    scheduled_at_not_before,
    sent_at_not_before_scheduled,
    sent_fields_match_status,
    status_matches_deferred,
    timestamps_in_utc_milliseconds,
    trace_id_unique,
)
from conformance.messages import DEFAULT_CHANNEL, is_fresh_key
from conformance.results import CheckFailed, CheckResult, record
from conformance.settings import Settings
from conformance.spec_rules import operation_definition

PHASE = "observed"
MIN_KEY_LENGTH = 8  # shorter "keys" (an empty Bearer, a scheme word) would match ordinary text
NO_202 = "no 202 in this run"


@dataclass(frozen=True)
class Run:
    """What an observer judges: all exchanges, with the loaded operation and the run's settings."""

    exchanges: list[Exchange]
    operation: APIOperation
    settings: Settings

    @cached_property
    def every_response(self) -> list[Exchange]:
        """Every response the kit saw, the 429s the client waited out included."""
        return [seen for exchange in self.exchanges for seen in (*exchange.rate_limited, exchange)]

    @cached_property
    def accepted(self) -> list[Exchange]:
        """The 202s with a data object."""
        return [exchange for exchange in self.exchanges if exchange.status == 202 and exchange.data]


@dataclass(frozen=True)
class Observer:
    """A named check over all exchanges."""

    name: str
    rule: str
    judge: Callable[[Run, CheckResult], None]
    empty_reason: str = ""


def documented_response(exchange: Exchange, operation: APIOperation, *, rule: str) -> None:
    """The response is one the contract documents: status, content type and body schema."""
    try:
        operation.validate_response(exchange.raw)
    except (Failure, FailureGroup) as exc:
        title = exc.title if isinstance(exc, Failure) else str(exc).splitlines()[0]
        raise CheckFailed(rule, f"a documented response ({title})", describe(exchange), exchange) from None


def _each(select: Callable[[Run], Iterable[Exchange]], assertion: Callable[..., None]) -> Callable[..., None]:
    def judge(run: Run, result: CheckResult) -> None:
        for exchange in select(run):
            record(result, assertion, exchange)

    return judge


def _accepted(run: Run) -> list[Exchange]:
    return run.accepted


def _every(run: Run) -> list[Exchange]:
    return run.every_response


def _judge_scheduled_at(run: Run, result: CheckResult) -> None:
    first: dict[tuple[str, str], datetime] = {}
    for exchange in run.exchanges:
        if exchange.idempotency_key is not None:
            slot = (exchange.request.url, exchange.idempotency_key)
            first[slot] = min(first.get(slot, exchange.started_at), exchange.started_at)
    for exchange in run.accepted:
        key = exchange.idempotency_key
        earliest = first[(exchange.request.url, key)] if key is not None else exchange.started_at
        record(result, scheduled_at_not_before, exchange, earliest, run.settings.clock_skew)


def _judge_trace_ids(run: Run, result: CheckResult) -> None:
    seen: dict[str, Exchange] = {}
    for exchange in run.every_response:
        if exchange.trace_id is not None:
            record(result, trace_id_unique, exchange, seen)
            seen.setdefault(exchange.trace_id, exchange)


def _judge_retry_after(run: Run, result: CheckResult) -> None:
    for exchange in run.every_response:
        if exchange.status == 429:
            record(result, retry_after_valid, exchange)


def _judge_documented(run: Run, result: CheckResult) -> None:
    """POSTs outside the contract phase (which validated its own); other methods get undocumented 405s."""
    method = run.operation.method.upper()
    for exchange in run.exchanges:
        if exchange.phase != "contract" and exchange.request.method.upper() == method:
            record(result, documented_response, exchange, run.operation)


def error_codes(operation: APIOperation) -> dict[int, frozenset[str]]:
    """The error codes the spec's response schemas allow for each documented status (enums under allOf)."""
    codes: dict[int, frozenset[str]] = {}
    for status, response in operation_definition(operation)["responses"].items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        found = _code_enum(schema)
        if str(status).isdigit() and found:
            codes[int(status)] = found
    return codes


def _code_enum(schema: Any) -> frozenset[str] | None:
    if not isinstance(schema, dict):
        return None
    enums = [_code_enum(part) for part in schema.get("allOf", [])]
    code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
    if isinstance(code, dict) and "enum" in code:
        enums.append(frozenset(map(str, code["enum"])))
    known = [enum for enum in enums if enum is not None]
    return frozenset.intersection(*known) if known else None


def _judge_error_codes(run: Run, result: CheckResult) -> None:
    codes = error_codes(run.operation)
    for exchange in run.every_response:
        if exchange.status in codes:
            record(result, error_code_for_status, exchange, codes)


def sent_keys(run: Run) -> set[str]:
    """Every API key the kit put in an Authorization header (configured, unknown and rejected ones)."""
    keys = set(run.settings.secrets)
    for exchange in run.exchanges:
        value = exchange.request.header("Authorization") or ""
        keys.add(value.partition(" ")[2].strip() or value.strip())
    return {key for key in keys if len(key) >= MIN_KEY_LENGTH}


def _judge_keys(run: Run, result: CheckResult) -> None:
    keys = sent_keys(run)
    for exchange in run.every_response:
        record(result, no_api_key, exchange, keys)


def _judge_replay_header(run: Run, result: CheckResult) -> None:
    """Per fresh key exactly one 202 is the original; keyless 202s are never replays."""
    by_key: dict[tuple[str, str | None], list[Exchange]] = defaultdict(list)
    for exchange in run.accepted:
        key = exchange.idempotency_key
        if key is None:
            record(result, _not_a_replay, exchange, label="202 without Idempotency-Key")
        elif is_fresh_key(key):
            by_key[(exchange.request.url, key)].append(exchange)
    for group in by_key.values():
        record(result, _one_original, group)


def _not_a_replay(exchange: Exchange, *, rule: str) -> None:
    if claims_replay(exchange):
        raise CheckFailed(rule, "no Idempotent-Replayed: true on a first 202", "Idempotent-Replayed: true", exchange)


def _one_original(group: list[Exchange], *, rule: str) -> None:
    originals = [exchange for exchange in group if not claims_replay(exchange)]
    if len(originals) != 1:
        expected = "one 202 without Idempotent-Replayed (the first), Idempotent-Replayed: true on every replay"
        actual = f"{len(group)} 202s with one key, {len(originals)} without Idempotent-Replayed: true"
        raise CheckFailed(rule, expected, actual, group[-1])


def _judge_rate_limited_keys(run: Run, result: CheckResult) -> None:
    accepted = defaultdict(list)
    for exchange in run.accepted:
        accepted[(exchange.request.url, exchange.idempotency_key)].append(exchange)
    for exchange in run.exchanges:
        key = exchange.idempotency_key
        if exchange.rate_limited and key is not None:
            earlier = [seen for seen in accepted[(exchange.request.url, key)] if seen.started_at < exchange.started_at]
            record(result, _unbound_after_429, exchange, earlier)


def _unbound_after_429(exchange: Exchange, earlier_202s: list[Exchange], *, rule: str) -> None:
    """After a 429 the identical request is handled as new: it conflicts only with a 202 for another body."""
    bound_elsewhere = any(_canonical(seen) != _canonical(exchange) for seen in earlier_202s)
    conflict = exchange.status == 409 and exchange.error_code == "IDEMPOTENCY_CONFLICT" and not bound_elsewhere
    if conflict or (exchange.status == 429 and claims_replay(exchange)):
        expected = "the retried request handled as new (a 429 binds no key)"
        raise CheckFailed(rule, expected, f"{describe(exchange)} after {len(exchange.rate_limited)} 429(s)", exchange)


def _canonical(exchange: Exchange) -> object:
    body = exchange.request.json_body
    return {"channel": DEFAULT_CHANNEL, **body} if isinstance(body, dict) else exchange.request.body


OBSERVERS = (
    Observer(
        "data.scheduled_at",
        "scheduledAt is not before the request (allowing --clock-skew seconds of drift)",
        _judge_scheduled_at,
        NO_202,
    ),
    Observer(
        "data.sent_at",
        "sentAt is null or not before scheduledAt",
        _each(_accepted, sent_at_not_before_scheduled),
        NO_202,
    ),
    Observer(
        "data.status_deferred",
        "status and deferred agree: queued with deferred false, scheduled with deferred true",
        _each(_accepted, status_matches_deferred),
        NO_202,
    ),
    Observer(
        "data.sent_fields",
        "A sent response carries sentAt and messageId; until sent both are null",
        _each(_accepted, sent_fields_match_status),
        NO_202,
    ),
    Observer(
        "data.timestamp_format",
        "scheduledAt and sentAt are UTC with milliseconds and Z (2026-04-28T15:30:00.000Z)",
        _each(_accepted, timestamps_in_utc_milliseconds),
        NO_202,
    ),
    Observer(
        "data.channel_echoed", "data.channel echoes the request's channel", _each(_accepted, channel_echoed), NO_202
    ),
    Observer(
        "data.idempotency_key_echoed",
        "data.idempotencyKey echoes the request's Idempotency-Key (null without one)",
        _each(_accepted, idempotency_key_echoed),
        NO_202,
    ),
    Observer(
        "data.conversation_id",
        "conversationId is the one the direct message named, else the prospect's (never null); null for InMail",
        _each(_accepted, conversation_id_for_channel),
        NO_202,
    ),
    Observer(
        "envelope.consistent",
        "Every response is {success, data, error, traceId}: success true with data and error null, "
        "or false with data null and an error of non-empty code and message; traceId non-empty",
        _each(_every, envelope_consistent),
        "no response in this run",
    ),
    Observer(
        "envelope.trace_id_distinct",
        "traceId differs on every response, replays included",
        _judge_trace_ids,
        "no response had a traceId",
    ),
    Observer(
        "envelope.error_code",
        "An error response carries the code the contract names for its status (400/422 VALIDATION_ERROR, "
        "401 UNAUTHORIZED, 403 FORBIDDEN, 409 one of the four conflicts, 429 RATE_LIMITED, 500, 502)",
        _judge_error_codes,
        "no error response of a documented status in this run",
    ),
    Observer(
        "envelope.documented_response",
        "Responses to the documented method match a documented status and schema",
        _judge_documented,
        "no scenario response to judge",
    ),
    Observer(
        "security.api_key_not_echoed",
        "No response body or header contains an API key the kit sent, accepted or rejected",
        _judge_keys,
        "no response in this run",
    ),
    Observer(
        "idempotency.replayed_header",
        "A replay carries Idempotent-Replayed: true; the first 202 for a key (or without one) does not",
        _judge_replay_header,
        NO_202,
    ),
    Observer(
        "idempotency.rate_limited_binds_no_key",
        "A 429 binds no key: the same request with the same key, retried after Retry-After, is handled as new",
        _judge_rate_limited_keys,
        "the server sent no 429 to a request with an Idempotency-Key (rate limit not reached)",
    ),
    Observer(
        "rate_limit.retry_after",
        "Every 429 carries Retry-After in whole seconds >= 1",
        _judge_retry_after,
        "the server sent no 429 in this run (rate limit not reached)",
    ),
)


def observe(exchanges: list[Exchange], operation: APIOperation, settings: Settings) -> list[CheckResult]:
    """Judge every observer over the run's exchanges."""
    run, results = Run(exchanges, operation, settings), []
    for observer in OBSERVERS:
        result = CheckResult(observer.name, observer.rule, PHASE)
        observer.judge(run, result)
        if result.count == 0:
            result.skip_reason = observer.empty_reason
        results.append(result)
    return results
