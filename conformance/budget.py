"""The --max-time budget shared by every phase, and the slices the later phases get of it."""

from __future__ import annotations

import time


class BudgetExhausted(Exception):
    """Raised before a request that the time budget no longer allows."""


class Budget:
    """Wall-clock deadline; None means unlimited.

    The scenario phase spends the budget first; the contract and stateful phases then get slices of what is
    left (`slice`), so the cheap, decisive checks always run and fuzzing cannot starve them.
    """

    def __init__(self, max_time: float | None, deadline: float | None = None) -> None:
        self.max_time = max_time
        if deadline is None and max_time is not None:
            deadline = time.monotonic() + max_time
        self._deadline = deadline

    def remaining(self) -> float:
        """Seconds left (infinite without a limit)."""
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def ensure(self) -> None:
        """Stop the caller once the budget is spent."""
        if self.remaining() <= 0:
            raise BudgetExhausted(f"the --max-time budget of {self.max_time:g} s is spent")

    def slice(self, fraction: float) -> Budget:
        """A budget ending after `fraction` of what is left of this one (unlimited stays unlimited)."""
        if self._deadline is None:
            return self
        return Budget(self.max_time, time.monotonic() + max(self.remaining(), 0.0) * fraction)
