"""`sonarly-conformance`: argument plumbing and exit codes (0 pass, 1 violation, 2 usage or target error)."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from conformance.contract import SpecError
from conformance.redaction import Redactor
from conformance.report.console import ConsoleReporter
from conformance.report.junit import write_junit
from conformance.runner import TargetUnreachable, run
from conformance.settings import PROFILES, UsageError, resolve

EXIT_USAGE = 2
CI_WIDTH = 160


@click.group()
def main() -> None:
    """Check an implementation of POST /v1/accounts/{accountGroupId}/messages/responses against the contract."""


@main.command(name="run")
@click.option("--base-url", help="Server under test, e.g. https://staging.example.com")
@click.option("--api-key", help="Key with messages:write on the account group (prefer SONARLY_API_KEY).")
@click.option("--account-group-id", help="Account group the key can access.")
@click.option("--prospect-id", help="Connected prospect with an existing chat (direct_message fixture).")
@click.option("--conversation-id", help="That prospect's existing conversation.")
@click.option("--inmail-prospect-id", help="A prospect eligible for a new InMail.")
@click.option("--restricted-api-key", help="A valid key WITHOUT messages:write.")
@click.option("--foreign-account-group-id", help="A group the main key cannot access.")
@click.option("--spec", help="OpenAPI contract; default: the one shipped in the package.")
@click.option("--profile", type=click.Choice(PROFILES), help="quick, default or thorough.")
@click.option("--max-examples", type=int, help="Contract-phase examples per mode (overrides the profile).")
@click.option("--seed", type=int, help="Hypothesis seed, for reproducible generation.")
@click.option("--max-time", type=float, help="Wall-clock budget in seconds; unfinished checks are skipped.")
@click.option("--junit-xml", help="Write a JUnit XML report here.")
@click.option("--config", help="TOML file with the same options (keys with underscores).")
@click.option("--verbose", is_flag=True, default=None, help="Show every check and full failure details.")
def run_command(**options: Any) -> None:
    """Run the contract, scenario (and with --profile thorough, model-based) checks."""
    console = _console()
    try:
        settings = resolve(options)
    except UsageError as exc:
        _fail(console, str(exc))
    redact = Redactor.for_settings(settings.api_key, settings.restricted_api_key)
    try:
        with ConsoleReporter(console, redact, settings.verbose) as reporter:
            report = run(settings, reporter)
    except (SpecError, TargetUnreachable) as exc:
        _fail(console, redact(str(exc)))
    reporter.summary(report)
    if settings.junit_xml is not None:
        write_junit(report, redact, settings.junit_xml)
    sys.exit(report.exit_code)


def _console() -> Console:
    """Rich's console; CI logs get a fixed width so check names and curl lines are never cut."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=CI_WIDTH)


def _fail(console: Console, message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    sys.exit(EXIT_USAGE)
