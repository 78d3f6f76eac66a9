"""Plain assertion functions: each asserts one thing and says what the server must do instead."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from conformance.exchange import Exchange
from conformance.results import CheckFailed

DETAIL_LIMIT = 300


def describe(exchange: Exchange) -> str:
    """Status, error code and error details of a response, short enough for one line."""
    error = exchange.envelope.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    text = exchange.summary()
    if isinstance(details, str) and details:
        text += f" ({details[:DETAIL_LIMIT]})"
    elif exchange.json is None and exchange.body:
        text += f" (non-JSON body: {exchange.body[:80]!r})"
    return text


def details_name(exchange: Exchange, field: str, *, rule: str) -> None:
    """`error.details` is a string naming the offending field, so a client can tell the user what to fix
    (contract: "names the offending field(s) in plain words"); matched case-insensitively, as words would be."""
    error = exchange.envelope.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, str) or field.lower() not in details.lower():
        shown = details[:DETAIL_LIMIT] if isinstance(details, str) else details
        raise CheckFailed(rule, f"error.details naming {field}", f"error.details {shown!r}", exchange)


def _statuses(allowed: Collection[int]) -> str:
    return " or ".join(str(status) for status in sorted(allowed))


def status_in(exchange: Exchange, allowed: Collection[int], *, rule: str) -> None:
    """The response status is one the contract allows here."""
    if exchange.status not in allowed:
        raise CheckFailed(rule, _statuses(allowed), describe(exchange), exchange)


def rejected_with(exchange: Exchange, allowed: Collection[int], code: str, *, rule: str) -> None:
    """A rejection has both the right status and the right error code."""
    if exchange.status not in allowed or exchange.error_code != code:
        raise CheckFailed(rule, f"{_statuses(allowed)} with error.code {code}", describe(exchange), exchange)


def same_data(original: Exchange, replay: Exchange, *, rule: str) -> None:
    """A replay returns exactly the data of the original 202."""
    if replay.status != 202 or replay.data != original.data:
        actual = describe(replay) if replay.status != 202 else f"202 with data {replay.data}"
        raise CheckFailed(rule, f"202 with the original data {original.data}", actual, replay)


def distinct_ids(exchanges: Sequence[Exchange], *, rule: str) -> None:
    """Every 202 carries an id no other one has."""
    ids = [exchange.data.get("id") for exchange in exchanges]
    if len(set(ids)) != len(ids) or None in ids:
        raise CheckFailed(rule, "a different data.id on each 202", f"ids {ids}", exchanges[-1])


def one_id(exchanges: Sequence[Exchange], *, rule: str) -> None:
    """All 202s for one key name the same scheduled response."""
    ids = {exchange.data.get("id") for exchange in exchanges}
    if len(ids) != 1:
        raise CheckFailed(
            rule, "one data.id for every 202 with this key", f"ids {sorted(map(str, ids))}", exchanges[-1]
        )


def accepted(exchange: Exchange, allow_inmail_ineligible: bool = False, *, rule: str) -> None:
    """A valid request to a fixture is scheduled (an ineligible InMail fixture is a data condition)."""
    if allow_inmail_ineligible and exchange.status == 409 and exchange.error_code == "INMAIL_NOT_ELIGIBLE":
        return
    status_in(exchange, {202}, rule=rule)


def replayed_or_in_use(exchange: Exchange, *, rule: str) -> None:
    """A concurrent duplicate gets the replay (202) or 409 IDEMPOTENCY_KEY_IN_USE, nothing else."""
    if exchange.status == 202 or (exchange.status == 409 and exchange.error_code == "IDEMPOTENCY_KEY_IN_USE"):
        return
    raise CheckFailed(rule, "202 (replay) or 409 IDEMPOTENCY_KEY_IN_USE", describe(exchange), exchange)
