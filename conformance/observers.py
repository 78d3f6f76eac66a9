"""Checks judged over every exchange of the run, whichever phase sent it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemathesis import APIOperation
from schemathesis.core.failures import Failure, FailureGroup

from conformance.assertions import describe
from conformance.client import retry_after_seconds
from conformance.exchange import Exchange
from conformance.results import CheckFailed, CheckResult, record
from conformance.settings import Settings

PHASE = "observed"
CLOCK_SKEW = timedelta(seconds=5)


def _timestamp(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def scheduled_at_not_before(exchange: Exchange, earliest: datetime, *, rule: str) -> None:
    """scheduledAt is never before the (first) request with this key, allowing clock skew."""
    scheduled = _timestamp(exchange.data.get("scheduledAt"))
    if scheduled is not None and scheduled < earliest - CLOCK_SKEW:
        expected = f"scheduledAt >= {earliest.isoformat(timespec='milliseconds')} (request time - 5 s)"
        raise CheckFailed(rule, expected, f"scheduledAt {exchange.data['scheduledAt']}", exchange)


def sent_at_not_before_scheduled(exchange: Exchange, *, rule: str) -> None:
    """sentAt is null, or not before scheduledAt."""
    sent, scheduled = _timestamp(exchange.data.get("sentAt")), _timestamp(exchange.data.get("scheduledAt"))
    if sent is not None and scheduled is not None and sent < scheduled:
        actual = f"sentAt {exchange.data['sentAt']} before scheduledAt {exchange.data['scheduledAt']}"
        raise CheckFailed(rule, "sentAt null or >= scheduledAt", actual, exchange)


def channel_echoed(exchange: Exchange, *, rule: str) -> None:
    """data.channel is the channel the request asked for (direct_message when omitted)."""
    if exchange.data.get("channel") != exchange.requested_channel:
        actual = f"channel {exchange.data.get('channel')!r}"
        raise CheckFailed(rule, f"channel {exchange.requested_channel!r}", actual, exchange)


def idempotency_key_echoed(exchange: Exchange, *, rule: str) -> None:
    """data.idempotencyKey is the request's Idempotency-Key, or null without one."""
    if exchange.data.get("idempotencyKey") != exchange.idempotency_key:
        actual = f"idempotencyKey {exchange.data.get('idempotencyKey')!r}"
        raise CheckFailed(rule, f"idempotencyKey {exchange.idempotency_key!r}", actual, exchange)


def trace_id_unique(exchange: Exchange, seen: dict[str, Exchange], *, rule: str) -> None:
    """No two responses share a traceId."""
    trace_id = exchange.trace_id
    if trace_id is not None and trace_id in seen and seen[trace_id] is not exchange:
        raise CheckFailed(rule, "a traceId no earlier response had", f"traceId {trace_id!r} repeated", exchange)


def retry_after_valid(exchange: Exchange, *, rule: str) -> None:
    """A 429 tells the client how long to wait, in whole seconds >= 1."""
    if retry_after_seconds(exchange) is None:
        actual = f"Retry-After {exchange.headers.get('retry-after')!r}"
        raise CheckFailed(rule, "Retry-After: whole seconds >= 1", actual, exchange)


def documented_response(exchange: Exchange, operation: APIOperation, *, rule: str) -> None:
    """The response is one the contract documents: status, content type and body schema."""
    try:
        operation.validate_response(exchange.raw)
    except (Failure, FailureGroup) as exc:
        title = exc.title if isinstance(exc, Failure) else str(exc).splitlines()[0]
        raise CheckFailed(rule, f"a documented response ({title})", describe(exchange), exchange) from None


@dataclass(frozen=True)
class Observer:
    """A named check over all exchanges."""

    name: str
    rule: str
    judge: Callable[[list[Exchange], CheckResult, APIOperation], None]
    empty_reason: str = ""


def _accepted(exchanges: Iterable[Exchange]) -> list[Exchange]:
    return [exchange for exchange in exchanges if exchange.status == 202 and exchange.data]


def _first_use(exchanges: list[Exchange]) -> dict[tuple[str, str], datetime]:
    first: dict[tuple[str, str], datetime] = {}
    for exchange in exchanges:
        if exchange.idempotency_key is not None:
            slot = (exchange.request.url, exchange.idempotency_key)
            first[slot] = min(first.get(slot, exchange.started_at), exchange.started_at)
    return first


def _judge_scheduled_at(exchanges: list[Exchange], result: CheckResult, _: APIOperation) -> None:
    first = _first_use(exchanges)
    for exchange in _accepted(exchanges):
        key = exchange.idempotency_key
        earliest = first[(exchange.request.url, key)] if key is not None else exchange.started_at
        record(result, scheduled_at_not_before, exchange, earliest)


def _each_accepted(assertion: Callable[..., None]) -> Callable[[list[Exchange], CheckResult, APIOperation], None]:
    def judge(exchanges: list[Exchange], result: CheckResult, _: APIOperation) -> None:
        for exchange in _accepted(exchanges):
            record(result, assertion, exchange)

    return judge


def _judge_trace_ids(exchanges: list[Exchange], result: CheckResult, _: APIOperation) -> None:
    seen: dict[str, Exchange] = {}
    for exchange in _with_rate_limited(exchanges):
        if exchange.trace_id is not None:
            record(result, trace_id_unique, exchange, seen)
            seen.setdefault(exchange.trace_id, exchange)


def _with_rate_limited(exchanges: list[Exchange]) -> list[Exchange]:
    return [limited for exchange in exchanges for limited in (*exchange.rate_limited, exchange)]


def _judge_retry_after(exchanges: list[Exchange], result: CheckResult, _: APIOperation) -> None:
    for exchange in _with_rate_limited(exchanges):
        if exchange.status == 429:
            record(result, retry_after_valid, exchange)


def _judge_documented(exchanges: list[Exchange], result: CheckResult, operation: APIOperation) -> None:
    for exchange in exchanges:
        if exchange.phase != "contract":  # the contract phase validated its own responses
            record(result, documented_response, exchange, operation)


OBSERVERS = (
    Observer(
        "data.scheduled_at",
        "scheduledAt is not before the request (5 s clock skew allowed)",
        _judge_scheduled_at,
        "no 202 in this run",
    ),
    Observer(
        "data.sent_at",
        "sentAt is null or not before scheduledAt",
        _each_accepted(sent_at_not_before_scheduled),
        "no 202 in this run",
    ),
    Observer(
        "data.channel_echoed",
        "data.channel echoes the request's channel",
        _each_accepted(channel_echoed),
        "no 202 in this run",
    ),
    Observer(
        "data.idempotency_key_echoed",
        "data.idempotencyKey echoes the request's Idempotency-Key",
        _each_accepted(idempotency_key_echoed),
        "no 202 in this run",
    ),
    Observer(
        "envelope.trace_id_distinct", "traceId differs on every response", _judge_trace_ids, "no response had a traceId"
    ),
    Observer(
        "envelope.documented_response",
        "Scenario responses match the documented status and schema",
        _judge_documented,
        "no scenario response to judge",
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
    results = []
    for observer in OBSERVERS:
        result = CheckResult(observer.name, observer.rule, PHASE)
        observer.judge(exchanges, result, operation)
        if result.count == 0:
            result.skip_reason = observer.empty_reason
        results.append(result)
    return results
