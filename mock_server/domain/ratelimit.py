"""Per-API-key token buckets, per session and per worker process, on real time (not the mock clock).

Real time because a frozen mock clock would otherwise never refill a bucket.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """`N/s`, `N/m` or `off`; the burst is one second's worth (at least 1)."""
        text = text.strip().lower()
        if text in ("off", "0", "none"):
            return None
        amount, _, unit = text.partition("/")
        seconds = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "": 1.0}.get(unit.strip())
        if seconds is None:
            raise ValueError(f"rate limit {text!r}: use N/s, N/m or off")
        per_second = float(amount) / seconds
        if not 0 < per_second < math.inf:
            raise ValueError(f"rate limit {text!r}: must be a positive, finite number")
        return cls(per_second=per_second, burst=max(1, math.ceil(per_second)))


class RateLimiter:
    def __init__(self, limit: RateLimit | None) -> None:
        self.limit = limit
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, session: str, caller: str, now: float | None = None) -> int | None:
        """Take a token; None when allowed, else whole seconds (>= 1) until one is free."""
        if self.limit is None:
            return None
        now = time.monotonic() if now is None else now
        rate, burst = self.limit.per_second, float(self.limit.burst)
        with self._lock:
            tokens, stamp = self._buckets.get((session, caller), (burst, now))
            tokens = min(burst, tokens + (now - stamp) * rate)
            if tokens >= 1.0:
                self._buckets[(session, caller)] = (tokens - 1.0, now)
                return None
            self._buckets[(session, caller)] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))

    def reset(self, session: str) -> None:
        with self._lock:
            for bucket in [b for b in self._buckets if b[0] == session]:
                del self._buckets[bucket]
