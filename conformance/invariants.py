"""Rules every single response must keep, whichever check sent its request: one plain function per rule.

The observers (`conformance.observers`) apply them to every exchange of a run; scenarios may call them too.
Each raises `CheckFailed` with what the contract requires instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime

from conformance.assertions import describe
from conformance.client import retry_after_seconds
from conformance.exchange import Exchange
from conformance.results import CheckFailed

# The contract's timestamp form: UTC, exactly three fractional digits, `Z` (`2026-04-28T15:30:00.000Z`).
UTC_MILLISECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
TIMESTAMPS = ("scheduledAt", "sentAt")
REPLAYED_HEADER = "idempotent-replayed"
STATUS_DEFERRED = {"queued": False, "scheduled": True}  # `sent` says nothing about `deferred`
ENVELOPE_MEMBERS = ("success", "data", "error", "traceId")


def timestamp(value: object) -> datetime | None:
    """A timestamp of the response as an aware datetime, or None when it is absent or unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def scheduled_at_not_before(exchange: Exchange, earliest: datetime, skew: float, *, rule: str) -> None:
    """scheduledAt is never before the (first) request with this key, allowing `skew` seconds of drift."""
    scheduled = timestamp(exchange.data.get("scheduledAt"))
    if scheduled is not None and (earliest - scheduled).total_seconds() > skew:
        at = earliest.isoformat(timespec="milliseconds")
        expected = f"scheduledAt >= {at} (request time - {skew:g} s of --clock-skew)"
        raise CheckFailed(rule, expected, f"scheduledAt {exchange.data['scheduledAt']}", exchange)


def sent_at_not_before_scheduled(exchange: Exchange, *, rule: str) -> None:
    """sentAt is null, or not before scheduledAt."""
    sent, scheduled = timestamp(exchange.data.get("sentAt")), timestamp(exchange.data.get("scheduledAt"))
    if sent is not None and scheduled is not None and sent < scheduled:
        actual = f"sentAt {exchange.data['sentAt']} before scheduledAt {exchange.data['scheduledAt']}"
        raise CheckFailed(rule, "sentAt null or >= scheduledAt", actual, exchange)


def timestamps_in_utc_milliseconds(exchange: Exchange, *, rule: str) -> None:
    """scheduledAt (and sentAt when not null) are UTC with milliseconds and `Z`, as the contract writes them."""
    for name in TIMESTAMPS:
        value = exchange.data.get(name)
        if (value is not None or name == "scheduledAt") and not UTC_MILLISECONDS.fullmatch(str(value)):
            raise CheckFailed(rule, f"{name} like 2026-04-28T15:30:00.000Z", f"{name} {value!r}", exchange)


def status_matches_deferred(exchange: Exchange, *, rule: str) -> None:
    """`queued` goes with `deferred: false`, `scheduled` with `deferred: true`."""
    status, deferred = exchange.data.get("status"), exchange.data.get("deferred")
    if status in STATUS_DEFERRED and deferred is not STATUS_DEFERRED[status]:
        expected = f"deferred {str(STATUS_DEFERRED[status]).lower()} with status {status}"
        raise CheckFailed(rule, expected, f"status {status!r} with deferred {deferred!r}", exchange)


def sent_fields_match_status(exchange: Exchange, *, rule: str) -> None:
    """A `sent` response carries sentAt and messageId; any other status has both null."""
    sent = exchange.data.get("status") == "sent"
    values = {name: exchange.data.get(name) for name in ("sentAt", "messageId")}
    wrong = [name for name, value in values.items() if (value is None) is sent]
    if wrong:
        expected = "sentAt and messageId set when status is sent" if sent else "sentAt and messageId null until sent"
        actual = f"status {exchange.data.get('status')!r} with " + ", ".join(f"{n} {values[n]!r}" for n in wrong)
        raise CheckFailed(rule, expected, actual, exchange)


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


def conversation_id_for_channel(exchange: Exchange, *, rule: str) -> None:
    """direct_message: the given conversationId, or the prospect's existing one (never null); inmail: null."""
    body = exchange.request.json_body
    given = body.get("conversationId") if isinstance(body, dict) else None
    actual = exchange.data.get("conversationId")
    if exchange.requested_channel == "inmail":
        expected, wrong = "conversationId null for an InMail", actual is not None
    elif isinstance(given, str):
        expected, wrong = f"conversationId {given!r} (the one the request named)", actual != given
    else:
        expected, wrong = "the prospect's conversationId (a string)", not isinstance(actual, str) or not actual
    if wrong:
        raise CheckFailed(rule, expected, f"conversationId {actual!r}", exchange)


def envelope_consistent(exchange: Exchange, *, rule: str) -> None:
    """`{success, data, error, traceId}`: success with data and no error, or failure with an error and no data."""
    problem = _envelope_problem(exchange)
    if problem:
        raise CheckFailed(
            rule, "the envelope {success, data, error, traceId} as the contract defines it", problem, exchange
        )


def _envelope_problem(exchange: Exchange) -> str:
    body = exchange.json
    if not isinstance(body, dict):
        return f"{exchange.status} with a body that is not a JSON object"
    missing = [name for name in ENVELOPE_MEMBERS if name not in body]
    if missing:
        return f"{exchange.status} without {', '.join(missing)}"
    trace = body["traceId"]
    if not isinstance(trace, str) or not trace:
        return f"traceId {trace!r}"
    success, data, error = body["success"], body["data"], body["error"]
    if success is True:
        if not 200 <= exchange.status < 300 or not isinstance(data, dict) or error is not None:
            return f"{exchange.status} with success true, data {type(data).__name__}, error {error!r}"
        return ""
    if success is not False or exchange.status < 400 or data is not None or not isinstance(error, dict):
        return f"{exchange.status} with success {success!r}, data {data!r}, error {type(error).__name__}"
    code, message, details = error.get("code"), error.get("message"), error.get("details")
    if not isinstance(code, str) or not code or not isinstance(message, str) or not message:
        return f"error.code {code!r}, error.message {message!r} (both must be non-empty strings)"
    if details is not None and not isinstance(details, str):
        return f"error.details {details!r} (a string or null)"
    return ""


def error_code_for_status(exchange: Exchange, codes: Mapping[int, Collection[str]], *, rule: str) -> None:
    """An error response of a documented status carries one of the codes the contract names for it."""
    allowed = codes.get(exchange.status)
    if allowed and exchange.envelope.get("success") is False and exchange.error_code not in allowed:
        expected = f"{exchange.status} with error.code {' or '.join(sorted(allowed))}"
        raise CheckFailed(rule, expected, describe(exchange), exchange)


def retry_after_valid(exchange: Exchange, *, rule: str) -> None:
    """A 429 tells the client how long to wait, in whole seconds >= 1."""
    if retry_after_seconds(exchange) is None:
        actual = f"Retry-After {exchange.headers.get('retry-after')!r}"
        raise CheckFailed(rule, "Retry-After: whole seconds >= 1", actual, exchange)


def trace_id_unique(exchange: Exchange, seen: dict[str, Exchange], *, rule: str) -> None:
    """No two responses share a traceId."""
    trace_id = exchange.trace_id
    if trace_id is not None and trace_id in seen and seen[trace_id] is not exchange:
        raise CheckFailed(rule, "a traceId no earlier response had", f"traceId {trace_id!r} repeated", exchange)


def no_api_key(exchange: Exchange, keys: Collection[str], *, rule: str) -> None:
    """Neither the body nor any header value contains an API key the kit sent (accepted or rejected)."""
    body = exchange.body.decode("utf-8", "replace")
    places = [("body", body), *((f"header {name}", value) for name, value in exchange.headers.items())]
    for place, text in places:
        if any(key in text for key in keys):
            raise CheckFailed(rule, "no API key in any response", f"an API key in the response {place}", exchange)


def claims_replay(exchange: Exchange) -> bool:
    """Whether the response says it replays an earlier request (`Idempotent-Replayed: true`)."""
    return exchange.headers.get(REPLAYED_HEADER, "").strip().lower() == "true"
