"""`sonarly-conformance`: argument plumbing and exit codes.

Exit codes: 0 every required check ran and passed; 1 a violation; 2 a usage, file, spec or target error
(one line, from `KitError`); 3 incomplete: no violation, but a required check could not run.
"""

from __future__ import annotations

import random
import sys
import textwrap
from dataclasses import replace
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from conformance.errors import KitError
from conformance.redaction import Redactor, printable
from conformance.report.console import ConsoleReporter
from conformance.report.junit import check_writable, write_junit
from conformance.runner import run
from conformance.settings import ENV_PREFIX, OPTION_NAMES, PROFILES, resolve

EXIT_USAGE = 2
CI_WIDTH = 160
DISTRIBUTION = "sonarly-mock-kit"
ENVIRONMENT = textwrap.fill(", ".join(ENV_PREFIX + name.upper() for name in (*OPTION_NAMES, "config")), 100)
EPILOG = f"""\b
Every option can also come from the environment as {ENV_PREFIX}<OPTION> or from the --config TOML file
(command line > environment > file):
{ENVIRONMENT}.
{ENV_PREFIX}HEADER takes one 'Name: value' per line; {ENV_PREFIX}ONLY and {ENV_PREFIX}SKIP take patterns
separated by commas or spaces.

\b
Exit codes:
  0  every required check ran and passed
  1  at least one violation of the contract
  2  usage, file, spec or target error (wrong --base-url, --api-key, --account-group-id)
  3  incomplete: no violation, but a required check could not run (the --max-time budget ran out,
     requests timed out, or the server kept answering 429); the summary lists which and why.
     A contract check counts as run once one case of each mode it judges was sent; checks skipped for
     a missing optional fixture or deselected with --only/--skip do not make a run incomplete.
"""


class OneLineErrors(click.Group):
    """Click's usage errors as one `error:` line and exit 2, like every other error of the kit."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message())
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(EXIT_USAGE)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(EXIT_USAGE)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors)
@click.version_option(package_name=DISTRIBUTION, prog_name="sonarly-conformance")
def main() -> None:
    """Check an implementation of POST /v1/accounts/{accountGroupId}/messages/responses against the contract."""


@main.command(name="run", epilog=EPILOG)
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
@click.option("--seed", type=int, help="Seed for every generated phase; a run without one prints the seed it used.")
@click.option("--max-time", type=float, help="Wall-clock budget in seconds; checks it cannot fit make the run exit 3.")
@click.option("--clock-skew", type=float, help="Seconds the server's clock may be behind (default 60).")
@click.option("--request-timeout", type=float, help="Seconds to wait for each response (default 30).")
@click.option("--header", multiple=True, help="'Name: value' added to every request, e.g. for a gateway (repeat).")
@click.option("--only", multiple=True, help="Run only checks matching this glob, e.g. 'validation.*' (repeat).")
@click.option("--skip", multiple=True, help="Do not run checks matching this glob (repeat).")
@click.option(
    "--hypothesis-database",
    help="Directory where failing examples are kept and replayed next run; 'none' disables. "
    "Default: $XDG_CACHE_HOME (or ~/.cache)/sonarly-conformance/hypothesis.",
)
@click.option("--junit-xml", help="Write a JUnit XML report here.")
@click.option("--config", help="TOML file with the same options (keys with underscores).")
@click.option("--verbose", is_flag=True, default=None, help="Show every check and full failure details.")
def run_command(**options: Any) -> None:
    """Run the scenario, contract (and with --profile thorough, model-based) checks."""
    console = _console()
    redact: Redactor | None = None
    try:
        settings = resolve(options)
        if settings.seed is None:
            settings = replace(settings, seed=random.SystemRandom().randrange(2**31))
        redact = Redactor.for_settings(settings)
        if settings.junit_xml is not None:
            check_writable(settings.junit_xml)
        console.print(f"seed {settings.seed} (rerun with --seed {settings.seed})", highlight=False)
        with ConsoleReporter(console, redact, settings.verbose) as reporter:
            report = run(settings, reporter)
        reporter.summary(report)
        if settings.junit_xml is not None:
            write_junit(report, redact, settings.junit_xml)
    except KitError as exc:
        _fail(console, redact(str(exc)) if redact else str(exc), exc.exit_code)
    sys.exit(report.exit_code)


def _console() -> Console:
    """Rich's console; CI logs get a fixed width so check names and curl lines are never cut."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=CI_WIDTH)


def _fail(console: Console, message: str, code: int = EXIT_USAGE) -> None:
    console.print(f"[bold red]error:[/] {escape(printable(message))}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(code)
