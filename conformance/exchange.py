"""One request and its response as the kit saw them, the unit every check and report works on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import httpx

DEFAULT_CHANNEL = "direct_message"


@dataclass(frozen=True)
class Outgoing:
    """A request ready to send; body is the exact bytes on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)

    @cached_property
    def json_body(self) -> Any:
        """The parsed body, or None when it is absent or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Exchange:
    """A sent request with its final response (after any 429 retries)."""

    request: Outgoing
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    started_at: datetime
    elapsed: float
    phase: str = ""
    attempts: int = 1
    rate_limited: tuple[Exchange, ...] = field(default=(), repr=False)
    raw: httpx.Response | None = field(default=None, repr=False, compare=False)

    @cached_property
    def json(self) -> Any:
        """The parsed response body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def envelope(self) -> dict[str, Any]:
        """The response body when it is a JSON object, else an empty dict."""
        return self.json if isinstance(self.json, dict) else {}

    @property
    def data(self) -> dict[str, Any]:
        """`data` of a success envelope, or an empty dict."""
        data = self.envelope.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def error_code(self) -> str | None:
        """`error.code` of a failure envelope, if any."""
        error = self.envelope.get("error")
        return error.get("code") if isinstance(error, dict) else None

    @property
    def trace_id(self) -> str | None:
        """`traceId` of the envelope, if any."""
        value = self.envelope.get("traceId")
        return value if isinstance(value, str) else None

    @property
    def idempotency_key(self) -> str | None:
        """The Idempotency-Key the request carried."""
        return self.request.header("Idempotency-Key")

    @property
    def requested_channel(self) -> str | None:
        """The channel the request asked for, with the contract's default applied."""
        body = self.request.json_body
        if not isinstance(body, dict):
            return None
        return body.get("channel", DEFAULT_CHANNEL)

    def summary(self) -> str:
        """A one-line description of the response for failure messages."""
        code = f" {self.error_code}" if self.error_code else ""
        return f"{self.status}{code}"
