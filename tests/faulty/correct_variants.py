"""CORRECT servers that differ from the mock only in what the contract leaves to them; the kit must pass them.

Slow answers, a clock behind the checker's (within --clock-skew), a strict rate limit, every message
deferred, and UUID ids are all conformant: a kit that fails any of them would block a good release.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from faulty.fault import RewriteJson
from faulty.middleware import API_PREFIX
from faulty.variants import mock

NEW_YORK = ZoneInfo("America/New_York")  # the demo group's time zone
ID_NAMESPACE = uuid.UUID("6f1c3b1e-7a52-4d1f-9a1d-0c9b5e2a7d10")


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIX)


class Slow:
    """Answers every API request after `seconds`, like a distant or loaded staging server."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_api(scope):
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def _uuid_id(_: Scope, status: int, headers: dict[str, str], envelope: Any) -> tuple[dict[str, str], Any]:
    """data.id as a UUID derived from the mock's id, so a replay keeps the same one."""
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        envelope = {**envelope, "data": {**data, "id": str(uuid.uuid5(ID_NAMESPACE, data["id"]))}}
    return headers, envelope


def set_mock_clock(base_url: str, moment: datetime) -> None:
    """Move the (running) mock clock of the default session to `moment`."""
    response = httpx.put(f"{base_url}/__mock/clock", json={"now": moment.isoformat()}, timeout=10)
    response.raise_for_status()


def clock_behind(base_url: str, seconds: float = 30) -> None:
    """The server's clock runs `seconds` behind the checker's: scheduledAt comes out that much early."""
    set_mock_clock(base_url, datetime.now(UTC) - timedelta(seconds=seconds))


def next_saturday_noon(now: datetime | None = None) -> datetime:
    """A Saturday noon in New York strictly after `now`: outside the demo group's sending days."""
    local = (now or datetime.now(UTC)).astimezone(NEW_YORK)
    days = (5 - local.weekday()) % 7 or 7
    return (local + timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)


def everything_deferred(base_url: str) -> None:
    """Run the mock's clock at a later weekend: every 202 is deferred to a Monday after the real request."""
    set_mock_clock(base_url, next_saturday_noon())


def slow(seconds: float = 0.5) -> ASGIApp:
    """The real mock, answering every API request after `seconds`."""
    return Slow(mock(), seconds)


def uuid_ids() -> ASGIApp:
    """The real mock, with UUID ids."""
    return RewriteJson(mock(), _uuid_id)
