"""HTTP plumbing: sends requests, waits out 429s as told by Retry-After, records every exchange."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from conformance.budget import Budget, BudgetExhausted
from conformance.exchange import Exchange, Outgoing

FALLBACK_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 60.0
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class TransportFailure(Exception):
    """The server did not answer with an HTTP response (connection refused, reset, timeout)."""

    def __init__(self, request: Outgoing, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.request = request


def retry_after_seconds(exchange: Exchange) -> float | None:
    """Retry-After as whole seconds >= 1, or None when it is missing or malformed."""
    value = exchange.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() and int(value) >= 1 else None


class Client:
    """Thread-safe sender shared by all phases, so every request counts against one budget and log."""

    def __init__(self, budget: Budget, max_429_retries: int, http: httpx.Client | None = None) -> None:
        self._http = http or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self._budget = budget
        self._max_retries = max_429_retries
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.requests_sent = 0
        self.phase = ""
        self.on_exchange: Callable[[Exchange], None] | None = None

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def send(self, request: Outgoing) -> Exchange:
        """Send once, and again after each 429 as Retry-After says, up to the profile's retry limit."""
        limited: list[Exchange] = []
        while True:
            exchange = self._send_once(request, tuple(limited))
            if exchange.status != 429 or len(limited) >= self._max_retries:
                break
            limited.append(exchange)
            self._wait(retry_after_seconds(exchange) or FALLBACK_RETRY_AFTER)
        self._record(exchange)
        return exchange

    def _wait(self, seconds: float) -> None:
        seconds = min(seconds, MAX_RETRY_AFTER)
        if seconds >= self._budget.remaining():
            raise BudgetExhausted("the --max-time budget does not allow waiting out a 429")
        time.sleep(seconds)

    def _send_once(self, request: Outgoing, limited: tuple[Exchange, ...]) -> Exchange:
        self._budget.ensure()
        started = datetime.now(UTC)
        clock = time.monotonic()
        with self._lock:
            self.requests_sent += 1
        try:
            response = self._http.request(request.method, request.url, headers=request.headers, content=request.body)
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
