"""The --max-time budget shared by every phase."""

from __future__ import annotations

import time


class BudgetExhausted(Exception):
    """Raised before a request that the time budget no longer allows."""


class Budget:
    """Wall-clock deadline; None means unlimited."""

    def __init__(self, max_time: float | None) -> None:
        self._deadline = None if max_time is None else time.monotonic() + max_time
        self.max_time = max_time

    def remaining(self) -> float:
        """Seconds left (infinite without a limit)."""
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def ensure(self) -> None:
        """Stop the caller once the budget is spent."""
        if self.remaining() <= 0:
            raise BudgetExhausted(f"the --max-time budget of {self.max_time:g} s is spent")
