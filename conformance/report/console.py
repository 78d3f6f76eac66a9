"""Live progress and the final summary on the terminal.

Every string passes the redactor, then `printable` (no control byte, invalid UTF-8 or bidi override from a
hostile server reaches the terminal raw), then rich's markup escaping.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.curl import to_curl
from conformance.redaction import Redactor, printable
from conformance.results import CheckResult, Status, Violation
from conformance.runner import RunReport

STYLES = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.INCOMPLETE: "bold magenta",
    Status.SKIPPED: "yellow",
}
DETAIL_LINES = 12
VIOLATIONS_SHOWN = 5
CONSOLE_LINE_LIMIT = 2000  # a longer repro or detail line is elided on the console (never in JUnit or --verbose)


def safe(text: str) -> str:
    """Printable and free of rich markup: for any text that may come from the server."""
    return escape(printable(text))


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
        """Print one line as each check finishes (only in verbose mode, or when it failed or did not run)."""
        if self.verbose or result.status in (Status.FAILED, Status.INCOMPLETE):
            style = STYLES[result.status]
            self.progress.console.print(f"[{style}]{result.status.value:>10}[/] {safe(result.name)}")

    def summary(self, report: RunReport) -> None:
        """The table of checks, every failure with its reproduction, what did not run, then the verdict line."""
        self.console.print(self._table(report))
        for result in report.results:
            if result.status is Status.FAILED:
                self._failure(result)
        if report.incomplete:
            self.console.rule("[bold magenta]INCOMPLETE: required checks that did not run (exit 3)")
            for result in report.incomplete:
                self.console.print(f"{safe(result.name)}: {safe(self.redact(result.reason))}", soft_wrap=True)
        counts = {status: sum(r.status is status for r in report.results) for status in Status}
        self.console.print(
            f"{counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, "
            f"{counts[Status.INCOMPLETE]} incomplete, {counts[Status.SKIPPED]} skipped; "
            f"{report.requests_sent} requests in {report.elapsed:.1f} s; seed {report.seed}"
        )

    def _table(self, report: RunReport) -> Table:
        table = Table(title=f"sonarly-conformance ({report.profile} profile)")
        table.add_column("check", no_wrap=True)
        for column in ("phase", "result", "count"):
            table.add_column(column, no_wrap=True)
        table.add_column("note")
        for result in report.results:
            note = f"{len(result.violations)} violation(s)" if result.status is Status.FAILED else result.reason
            style = STYLES[result.status]
            table.add_row(
                safe(result.name),
                result.phase,
                f"[{style}]{result.status.value}[/]",
                str(result.count),
                safe(self.redact(note)),
            )
        return table

    def _failure(self, result: CheckResult) -> None:
        self.console.rule(f"[bold red]FAILED {safe(result.name)}")
        for violation in result.violations[:VIOLATIONS_SHOWN]:
            for line in render_violation(violation, self.redact, self.verbose, console=True):
                self.console.print(escape(line), soft_wrap=True)
        hidden = len(result.violations) - VIOLATIONS_SHOWN
        if hidden > 0:
            self.console.print(f"... and {hidden} more")


def _elide(line: str, what: str) -> str:
    if len(line) <= CONSOLE_LINE_LIMIT:
        return line
    return f"{line[:CONSOLE_LINE_LIMIT]} ... ({what} of {len(line)} characters elided; --verbose or --junit-xml has it)"


def render_violation(violation: Violation, redact: Redactor, verbose: bool = False, console: bool = False) -> list[str]:
    """Rule, expected, actual, reproduction and details as plain, redacted, printable lines (console and JUnit).

    On the console without --verbose, long lines are elided with a note; JUnit always gets everything.
    """
    shorten = console and not verbose
    lines = [f"rule:     {violation.rule}", f"expected: {violation.expected}", f"actual:   {violation.actual}"]
    if violation.request is not None:
        repro = f"repro:    {to_curl(violation.request, redact)}"
        lines.append(_elide(repro, "reproduction") if shorten else repro)
    if violation.detail:
        detail = violation.detail.strip().splitlines()
        shown = detail if verbose else detail[:DETAIL_LINES]
        lines += ["details:", *("  " + (_elide(line, "line") if shorten else line) for line in shown)]
        if len(shown) < len(detail):
            lines.append("  ... (--verbose shows all)")
    lines.append("")
    return [printable(redact(line)) for line in lines]
