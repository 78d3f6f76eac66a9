"""Methods the contract does not document on the path: 405 with `Allow`, in the contract's envelope."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from conformance.assertions import describe
from conformance.exchange import Exchange
from conformance.invariants import envelope_consistent
from conformance.messages import JSON
from conformance.results import CheckFailed
from conformance.scenarios.base import ScenarioContext, scenario
from conformance.spec_rules import HTTP_METHODS, documented_methods

# OPTIONS and HEAD belong to HTTP itself (CORS preflight, GET semantics); TRACE is commonly refused by a proxy
# or the HTTP server before the application sees it. None of them is a method the contract could forbid.
NOT_PROBED = frozenset({"OPTIONS", "HEAD", "TRACE"})
WITH_BODY = frozenset({"PUT", "PATCH"})


def undocumented_methods(documented: Collection[str]) -> list[str]:
    """Every HTTP method the path item does not document, except those HTTP itself gives meaning."""
    return [m.upper() for m in HTTP_METHODS if m.upper() not in documented and m.upper() not in NOT_PROBED]


def allow_lists(exchange: Exchange, documented: Collection[str], *, rule: str) -> None:
    """405, and `Allow` names every documented method and not the refused one."""
    allowed = {token.strip().upper() for token in exchange.headers.get("allow", "").split(",") if token.strip()}
    method = exchange.request.method.upper()
    if exchange.status != 405 or not set(documented) <= allowed or method in allowed:
        header = exchange.headers.get("allow")
        actual = f"{describe(exchange)}, Allow {header!r}" if header is not None else f"{describe(exchange)}, no Allow"
        raise CheckFailed(rule, f"405 with Allow: {', '.join(sorted(documented))}", actual, exchange)


@scenario(
    "methods.not_allowed",
    "A method the contract does not document on the path is 405 with an Allow header listing the documented "
    "methods, in the error envelope",
)
def not_allowed(ctx: ScenarioContext) -> None:
    documented = documented_methods(ctx.operation)
    for method in undocumented_methods(documented):
        body = ctx.messages.direct(message="Conformance: method not allowed.") if method in WITH_BODY else None
        request = ctx.messages.post(body, method=method, content_type=None if body is None else JSON)
        exchange = ctx.send(request if body is not None else replace(request, body=None))
        if ctx.expect(allow_lists, exchange, documented, label=method):
            ctx.expect(envelope_consistent, exchange, label=f"{method} envelope")
