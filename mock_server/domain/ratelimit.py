"""Per-API-key token buckets, per session and per worker process, on real time (not the mock clock).

Real time because a frozen mock clock would otherwise never refill a bucket.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

SLOWEST_PER_SECOND = 1 / 3600  # 1/h: slower would make Retry-After longer than any client waits
FASTEST_PER_SECOND = 100_000.0  # 100000/s: faster is no limit at all for one caller of the mock
_UNITS = {"s": 1.0, "sec": 1.0, "": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """`N/s`, `N/m`, `N/h` or `off`, from 1/h to 100000/s; the burst is one second's worth (at least 1).

        Bounded because `5e-324/s` once gave a Retry-After no date can hold (a 500 on the first limited request).
        """
        text = text.strip().lower()
        if text in ("off", "0", "none"):
            return None
        amount, _, unit = text.partition("/")
        seconds = _UNITS.get(unit.strip())
        try:
            per_second = float(amount) / seconds if seconds is not None else math.nan
        except ValueError:
            per_second = math.nan
        if seconds is None or math.isnan(per_second):
            raise ValueError(f"rate limit {text!r}: use N/s, N/m, N/h (a number N) or off")
        if not SLOWEST_PER_SECOND <= per_second <= FASTEST_PER_SECOND:
            raise ValueError(f"rate limit {text!r}: must be from 1/h to 100000/s (or off)")
        return cls(per_second=per_second, burst=max(1, math.ceil(per_second)))


class RateLimiter:
    """Token buckets keyed by (session, caller), kept in a bounded dict.

    A bucket that has refilled completely is the same as no bucket, so when the dict grows past
    `prune_at` the full ones are dropped: sessions and keys that came and went do not accumulate.
    Pruning doubles its threshold with the buckets still in use, so it costs O(1) per request amortised.
    """

    PRUNE_AT = 10_000

    def __init__(self, limit: RateLimit | None) -> None:
        self.limit = limit
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._prune_at = self.PRUNE_AT
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

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
                self._remember((session, caller), tokens - 1.0, now)
                return None
            self._remember((session, caller), tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))

    def _remember(self, bucket: tuple[str, str], tokens: float, now: float) -> None:
        self._buckets[bucket] = (tokens, now)
        if len(self._buckets) > self._prune_at and self.limit is not None:
            rate, burst = self.limit.per_second, float(self.limit.burst)
            for key, (left, stamp) in list(self._buckets.items()):
                if left + (now - stamp) * rate >= burst:
                    del self._buckets[key]
            self._prune_at = max(self.PRUNE_AT, 2 * len(self._buckets))

    def reset(self, session: str) -> None:
        with self._lock:
            for bucket in [b for b in self._buckets if b[0] == session]:
                del self._buckets[bucket]
