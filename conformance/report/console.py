"""Live progress and the final summary on the terminal, every string passed through the redactor."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.curl import to_curl
from conformance.redaction import Redactor
from conformance.results import CheckResult, Status, Violation
from conformance.runner import RunReport

STYLES = {Status.PASSED: "green", Status.FAILED: "bold red", Status.SKIPPED: "yellow"}
DETAIL_LINES = 12
VIOLATIONS_SHOWN = 5


class ConsoleReporter:
    """Implements the runner's Progress protocol with rich, then prints the summary and failures."""

    def __init__(self, console: Console, redact: Redactor, verbose: bool = False) -> None:
        self.console = console
        self.redact = redact
        self.verbose = verbose
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> ConsoleReporter:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def phase(self, name: str, total: int) -> Callable[[], None]:
        """Add a progress bar; the returned callable advances it by one."""
        task = self.progress.add_task(name, total=total)
        return lambda: self.progress.advance(task)

    def done(self, result: CheckResult) -> None:
        """Print one line as each check finishes (only in verbose mode, or when it failed)."""
        if self.verbose or result.status is Status.FAILED:
            style = STYLES[result.status]
            self.progress.console.print(f"[{style}]{result.status.value:>7}[/] {escape(result.name)}")

    def summary(self, report: RunReport) -> None:
        """The table of checks, then every failure with its reproduction."""
        table = Table(title=f"sonarly-conformance ({report.profile} profile)")
        table.add_column("check", no_wrap=True)
        for column in ("phase", "result", "count"):
            table.add_column(column, no_wrap=True)
        table.add_column("note")
        for result in report.results:
            note = result.reason if result.status is Status.SKIPPED else ""
            if result.status is Status.FAILED:
                note = f"{len(result.violations)} violation(s)"
            style = STYLES[result.status]
            table.add_row(
                escape(result.name),
                result.phase,
                f"[{style}]{result.status.value}[/]",
                str(result.count),
                escape(self.redact(note)),
            )
        self.console.print(table)
        for result in report.results:
            if result.status is Status.FAILED:
                self._failure(result)
        counts = {status: sum(r.status is status for r in report.results) for status in Status}
        self.console.print(
            f"{counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, {counts[Status.SKIPPED]} skipped; "
            f"{report.requests_sent} requests in {report.elapsed:.1f} s"
        )

    def _failure(self, result: CheckResult) -> None:
        self.console.rule(f"[bold red]FAILED {escape(result.name)}")
        for violation in result.violations[:VIOLATIONS_SHOWN]:
            for line in render_violation(violation, self.redact, self.verbose):
                self.console.print(escape(line), soft_wrap=True)
        hidden = len(result.violations) - VIOLATIONS_SHOWN
        if hidden > 0:
            self.console.print(f"... and {hidden} more")


def render_violation(violation: Violation, redact: Redactor, verbose: bool = False) -> list[str]:
    """Rule, expected, actual, reproduction and details as plain redacted lines (console and JUnit)."""
    lines = [f"rule:     {violation.rule}", f"expected: {violation.expected}", f"actual:   {violation.actual}"]
    if violation.request is not None:
        lines.append(f"repro:    {to_curl(violation.request, redact)}")
    if violation.detail:
        detail = violation.detail.strip().splitlines()
        shown = detail if verbose else detail[:DETAIL_LINES]
        lines += ["details:", *("  " + line for line in shown)]
        if len(shown) < len(detail):
            lines.append("  ... (--verbose shows all)")
    lines.append("")
    return [redact(line) for line in lines]
