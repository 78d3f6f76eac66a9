"""Outcomes of checks: what passed, what failed and why, what was skipped and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.exchange import Exchange, Outgoing


class Status(StrEnum):
    """Final state of one named check."""

    PASSED = "passed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"  # required, but could not run (completely): budget, timeouts, a lasting 429
    SKIPPED = "skipped"  # not required: an optional fixture missing, deselected, or nothing to judge


@dataclass(frozen=True)
class Violation:
    """One broken rule, with enough context to reproduce it."""

    rule: str
    expected: str
    actual: str
    request: Outgoing | None = None
    detail: str = ""


class CheckFailed(AssertionError):
    """Raised by an assertion function; carries the violation it found."""

    def __init__(
        self, rule: str, expected: str, actual: str, exchange: Exchange | None = None, detail: str = ""
    ) -> None:
        super().__init__(f"{rule}: expected {expected}, got {actual}")
        request = exchange.request if exchange is not None else None
        self.violation = Violation(rule, expected, actual, request, detail)


@dataclass
class CheckResult:
    """Tally of one named check across all the requests it judged."""

    name: str
    rule: str
    phase: str
    count: int = 0
    violations: list[Violation] = field(default_factory=list)
    skip_reason: str | None = None
    incomplete_reason: str | None = None
    note: str = ""

    @property
    def status(self) -> Status:
        """Failed beats incomplete beats skipped: a partial run that found a violation still reports it."""
        if self.violations:
            return Status.FAILED
        if self.incomplete_reason is not None:
            return Status.INCOMPLETE
        if self.skip_reason is not None or self.count == 0:
            return Status.SKIPPED
        return Status.PASSED

    @property
    def reason(self) -> str:
        """Why a check did not run (fully), or a note on how it ran."""
        if self.incomplete_reason is not None:
            return "not run: " + self.incomplete_reason
        return self.skip_reason or ("nothing to judge in this run" if self.count == 0 else self.note)


def record(result: CheckResult, assertion: Callable[..., None], *args: Any, label: str = "") -> bool:
    """Run one assertion for a check; a failure becomes a violation so the run carries on."""
    result.count += 1
    rule = f"{result.rule} [{label}]" if label else result.rule
    try:
        assertion(*args, rule=rule)
    except CheckFailed as failure:
        result.violations.append(failure.violation)
        return False
    return True
