"""HTTP plumbing: sends requests, waits out 429s as told by Retry-After, records every exchange.

Rate limits are shared by every thread of the run: after a 429 the whole client holds back until
Retry-After has passed (a "not before" gate), so concurrent checks do not keep hammering a strict limit.
A request is retried after each 429 for as long as RATE_LIMIT_PATIENCE and the --max-time budget allow,
not a fixed small number of times; a 429 still left then raises `StillRateLimited`, so no rule under test
is ever judged on a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from conformance.budget import Budget, BudgetExhausted
from conformance.exchange import Exchange, Outgoing

FALLBACK_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 60.0
RATE_LIMIT_PATIENCE = 120.0
MAX_TIMEOUTS = 3  # after this many requests without an answer a run stops: the server is not answering
CONNECT_TIMEOUT = 10.0


class TransportFailure(Exception):
    """The server did not answer with an HTTP response (connection refused, reset, timeout)."""

    def __init__(self, request: Outgoing, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__)
        self.request = request


class RequestTimedOut(TransportFailure):
    """No answer within --request-timeout: the check could not run (incomplete), it is not judged."""


class StillRateLimited(Exception):
    """The server kept answering 429 for longer than the run may wait; the check could not run."""

    def __init__(self, exchange: Exchange, waited: float) -> None:
        super().__init__(f"the server still answered 429 after {waited:.0f} s of waiting out Retry-After")
        self.exchange = exchange


def retry_after_seconds(exchange: Exchange) -> float | None:
    """Retry-After as whole seconds >= 1, or None when it is missing or malformed."""
    value = exchange.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() and int(value) >= 1 else None


def _with_headers(request: Outgoing, extra: Sequence[tuple[str, str]]) -> Outgoing:
    """Add the --header options, unless the request sets that header itself (a check may need to)."""
    missing = {name: value for name, value in extra if request.header(name) is None}
    return replace(request, headers={**request.headers, **missing}) if missing else request


class Client:
    """Thread-safe sender shared by all phases, so every request counts against one budget and log."""

    def __init__(
        self,
        budget: Budget,
        timeout: float = 30.0,
        headers: Sequence[tuple[str, str]] = (),
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)), follow_redirects=False
        )
        self.budget = budget  # the runner swaps in each phase's slice
        self.timeout = timeout
        self._headers = tuple(headers)
        self._lock = threading.Lock()
        self._not_before = 0.0  # monotonic instant before which nobody sends (after a 429)
        self.exchanges: list[Exchange] = []
        self.requests_sent = 0
        self.phase = ""
        self.on_exchange: Callable[[Exchange], None] | None = None

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def send(self, request: Outgoing, *, wait_out_429: bool = True) -> Exchange:
        """Send, and again after each 429 once Retry-After has passed; `wait_out_429=False` returns the 429."""
        request = _with_headers(request, self._headers)
        limited: list[Exchange] = []
        first_429 = 0.0
        while True:
            self._wait_for_gate()
            exchange = self._send_once(request, tuple(limited))
            if exchange.status != 429 or not wait_out_429:
                break
            first_429 = first_429 or time.monotonic()
            limited.append(exchange)
            delay = min(retry_after_seconds(exchange) or FALLBACK_RETRY_AFTER, MAX_RETRY_AFTER)
            waited = time.monotonic() - first_429
            if waited + delay > RATE_LIMIT_PATIENCE:
                self._record(exchange)
                raise StillRateLimited(exchange, waited)
            self._close_gate(delay)
        self._record(exchange)
        return exchange

    def _close_gate(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def _wait_for_gate(self) -> None:
        while (wait := self._not_before - time.monotonic()) > 0:
            if wait >= self.budget.remaining():
                raise BudgetExhausted("the --max-time budget does not allow waiting out a 429")
            time.sleep(wait)

    def _send_once(self, request: Outgoing, limited: tuple[Exchange, ...]) -> Exchange:
        self.budget.ensure()
        started = datetime.now(UTC)
        clock = time.monotonic()
        with self._lock:
            self.requests_sent += 1
        try:
            headers = [(_wire(name), _wire(value)) for name, value in request.headers.items()]
            response = self._http.request(request.method, request.url, headers=headers, content=request.body)
        except httpx.TimeoutException as exc:
            raise RequestTimedOut(request, exc) from exc
        except httpx.HTTPError as exc:
            raise TransportFailure(request, exc) from exc
        return Exchange(
            request=request,
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=response.content,
            started_at=started,
            elapsed=time.monotonic() - clock,
            phase=self.phase,
            attempts=len(limited) + 1,
            rate_limited=limited,
            raw=response,
        )

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
        if self.on_exchange is not None:
            self.on_exchange(exchange)


def _wire(text: str) -> bytes:
    """A header as HTTP sends it: latin-1 bytes, so probes with 0x80-0xFF reach the server.

    httpx encodes `str` headers as ASCII and refuses anything else. Text beyond latin-1 goes out as UTF-8,
    which is what other clients put on the wire for it.
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
