"""Orchestrates the phases of one run; knows nothing of consoles or files.

Order and budget: preflight, then every selected scenario check (cheap and decisive, they spend the
--max-time budget first), then the contract phase with what is left (half of it when the stateful phase
follows), then the stateful phase (thorough) with the rest, then the observers over every exchange.

Verdict: 1 when any check found a violation; else 3 ("incomplete") when a required check could not run
completely; else 0. Required means selected (--only/--skip) and given its fixtures: a check skipped for a
missing optional fixture or deselected is listed, but does not make the run incomplete. A required check is
incomplete when the budget ran out before it finished, its requests timed out (--request-timeout), or the
server kept answering 429. A contract check counts as complete once at least one case of each generation
mode it judges ran (a budget cut after that is noted, not incomplete); the stateful check once at least one
full sequence of steps ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Protocol

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from schemathesis import APIOperation

from conformance.budget import Budget, BudgetExhausted
from conformance.client import MAX_TIMEOUTS, Client, RequestTimedOut, StillRateLimited, TransportFailure
from conformance.contract import CHECKS as CONTRACT_CHECKS
from conformance.contract import ContractPhase, load_operation
from conformance.errors import FileError, TargetError, UsageError
from conformance.exchange import Exchange
from conformance.messages import PATH, Messages, new_key
from conformance.observers import OBSERVERS, observe
from conformance.profiles import Profile, select
from conformance.results import CheckResult, Status, Violation
from conformance.scenarios import REGISTRY, Scenario, ScenarioContext
from conformance.scenarios.base import PHASE as SCENARIO_PHASE
from conformance.settings import Settings
from conformance.stateful import NAME as STATEFUL_NAME
from conformance.stateful import run_stateful

NO_RESPONSE_RULE = "The server answers every request with an HTTP response"
EXIT_PASSED, EXIT_VIOLATION, EXIT_INCOMPLETE = 0, 1, 3


class Progress(Protocol):
    """What the runner tells a live display."""

    def phase(self, name: str, total: int) -> Callable[[], None]: ...

    def done(self, result: CheckResult) -> None: ...


class Silent:
    """The progress of a library call (`conformance.run(settings)`): nothing is drawn."""

    def phase(self, name: str, total: int) -> Callable[[], None]:
        return lambda: None

    def done(self, result: CheckResult) -> None:
        return None


@dataclass
class RunReport:
    """Everything a reporter needs after the run."""

    results: list[CheckResult] = field(default_factory=list)
    requests_sent: int = 0
    elapsed: float = 0.0
    profile: str = "default"
    seed: int | None = None

    @property
    def incomplete(self) -> list[CheckResult]:
        """Required checks that could not run completely."""
        return [result for result in self.results if result.status is Status.INCOMPLETE]

    @property
    def exit_code(self) -> int:
        """1 when any check found a violation, else 3 when a required check did not run, else 0."""
        if any(result.status is Status.FAILED for result in self.results):
            return EXIT_VIOLATION
        return EXIT_INCOMPLETE if self.incomplete else EXIT_PASSED


def all_check_names() -> list[str]:
    """Every check name --only and --skip can select."""
    names = [scenario.name for scenario in REGISTRY] + [check.name for check in CONTRACT_CHECKS]
    return names + [STATEFUL_NAME] + [observer.name for observer in OBSERVERS]


@dataclass(frozen=True)
class Selection:
    """--only and --skip: fnmatch patterns over check names."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    @classmethod
    def for_settings(cls, settings: Settings) -> Selection:
        """The selection, refusing a pattern that matches no check (a typo would silently check less)."""
        names = all_check_names()
        for option, patterns in (("--only", settings.only), ("--skip", settings.skip)):
            for pattern in patterns:
                if not any(fnmatchcase(name, pattern) for name in names):
                    raise UsageError(f"{option} {pattern!r} matches no check (see the check names in a run's table)")
        return cls(settings.only, settings.skip)

    def excluded(self, name: str) -> str | None:
        """Why the check is deselected, or None when it runs."""
        if self.only and not any(fnmatchcase(name, pattern) for pattern in self.only):
            return "deselected (not matched by --only)"
        if any(fnmatchcase(name, pattern) for pattern in self.skip):
            return "deselected (--skip)"
        return None


def _preflight(client: Client, messages: Messages) -> Exchange:
    """One valid request with the fixtures; an answer that shows a wrong option stops the run (exit 2)."""
    client.phase = "preflight"
    url = messages.settings.base_url
    request = messages.post(messages.direct(message="Conformance preflight."), key=new_key("preflight"))
    try:
        exchange = client.send(request)
    except RequestTimedOut:
        raise TargetError(f"no answer from --base-url {url} within --request-timeout {client.timeout:g} s") from None
    except TransportFailure as exc:
        raise TargetError(f"cannot reach --base-url {url}: {exc}") from None
    except StillRateLimited as exc:
        raise TargetError(f"--base-url {url}: {exc} (is the rate limit shared with other clients?)") from None
    _judge_preflight(exchange, url, messages.settings.account_group_id)
    return exchange


def _judge_preflight(exchange: Exchange, url: str, group: str) -> None:
    status, where = exchange.status, f"POST {PATH} answered {exchange.status}"
    if 300 <= status < 400:
        location = exchange.headers.get("location", "?")
        raise TargetError(f"--base-url {url} looks wrong: {where} redirecting to {location!r}")
    if status in (404, 405):
        raise TargetError(f"--base-url {url} looks wrong: {where} (is the path prefix right?)")
    if status == 401:
        raise TargetError(f"--api-key was refused: {where} {exchange.error_code or ''}".rstrip())
    if status == 403:
        raise TargetError(
            f"the key may not send for --account-group-id {group}: {where} {exchange.error_code or ''}"
            " (check --account-group-id, or that --api-key has messages:write)"
        )
    if status < 500 and exchange.json is None:
        kind = exchange.headers.get("content-type", "no content type")
        raise TargetError(f"--base-url {url} looks wrong: {where} with a non-JSON body ({kind}), not the API")


class Interruptions:
    """Counts requests without an answer; past MAX_TIMEOUTS the rest of the run is not attempted."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.count = 0
        self.stop_reason: str | None = None

    def timed_out(self) -> str:
        self.count += 1
        if self.count >= MAX_TIMEOUTS:
            self.stop_reason = f"{self.count} requests got no answer within --request-timeout {self.timeout:g} s"
        return f"a request got no answer within --request-timeout {self.timeout:g} s"


def _run_scenario(scenario: Scenario, ctx: ScenarioContext, interruptions: Interruptions) -> str | None:
    """Run one scenario; returns why the run must stop (budget spent, server not answering)."""
    try:
        scenario.run(ctx)
    except BudgetExhausted as exc:
        ctx.result.incomplete_reason = str(exc)
        return str(exc)
    except StillRateLimited as exc:
        ctx.result.incomplete_reason = str(exc)
    except RequestTimedOut:
        ctx.result.incomplete_reason = interruptions.timed_out()
        return interruptions.stop_reason
    except TransportFailure as exc:
        ctx.result.violations.append(Violation(NO_RESPONSE_RULE, "an HTTP response", str(exc), exc.request))
    return None


@dataclass
class Run:
    """The state the phases share."""

    settings: Settings
    profile: Profile
    client: Client
    progress: Progress
    operation: APIOperation
    selection: Selection
    interruptions: Interruptions
    database: ExampleDatabase | None = None
    stopped: str | None = None

    def scenario_phase(self) -> list[CheckResult]:
        self.client.phase = SCENARIO_PHASE
        advance = self.progress.phase("scenario checks", len(REGISTRY))
        results = []
        for scenario in REGISTRY:
            result = CheckResult(scenario.name, scenario.rule, SCENARIO_PHASE)
            missing = scenario.missing(self.settings)
            if (excluded := self.selection.excluded(scenario.name)) is not None:
                result.skip_reason = excluded
            elif missing:
                result.skip_reason = "needs " + ", ".join("--" + name.replace("_", "-") for name in missing)
            elif self.stopped:
                result.incomplete_reason = self.stopped
            else:
                ctx = ScenarioContext(self.settings, self.profile, self.client, result, self.operation)
                self.stopped = _run_scenario(scenario, ctx, self.interruptions)
            results.append(result)
            self.progress.done(result)
            advance()
        return results

    def contract_phase(self, budget: Budget) -> list[CheckResult]:
        self.client.phase, self.client.budget = "contract", budget
        total = self.profile.positive_examples + self.profile.negative_examples
        phase = ContractPhase(self.operation, self.settings, self.profile, self.client, self.database)
        results = phase.run(self.progress.phase("contract", total), self.selection.excluded, self.stopped)
        for result in results:
            self.progress.done(result)
        return results

    def stateful_phase(self, budget: Budget) -> CheckResult:
        self.client.phase, self.client.budget = "stateful", budget
        self.stopped = self.stopped or self.interruptions.stop_reason
        if (excluded := self.selection.excluded(STATEFUL_NAME)) is not None or self.stopped:
            result = CheckResult(STATEFUL_NAME, "Every response in a random sequence matches the model", "stateful")
            result.skip_reason, result.incomplete_reason = excluded, None if excluded else self.stopped
        else:
            progress = self.progress.phase("stateful", self.profile.stateful_examples)
            result = run_stateful(self.settings, self.profile, self.client, progress, self.database)
        self.progress.done(result)
        return result

    def observer_phase(self) -> list[CheckResult]:
        results = observe(self.client.exchanges, self.operation, self.settings)
        for result in results:
            if (excluded := self.selection.excluded(result.name)) is not None:
                result.violations.clear()
                result.skip_reason = excluded
            self.progress.done(result)
        return results


def open_database(settings: Settings) -> ExampleDatabase | None:
    """The Hypothesis example database (--hypothesis-database), created if needed; None when disabled."""
    path = settings.database_path
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(f"--hypothesis-database {path} cannot be created: {exc.strerror or exc}") from None
    return DirectoryBasedExampleDatabase(path)


def run(settings: Settings, progress: Progress | None = None) -> RunReport:
    """Preflight, scenario, contract and stateful phases, then the run-wide observers (see the module doc)."""
    progress = progress or Silent()
    started = time.monotonic()
    budget = Budget(settings.max_time)  # counts from the start: loading the spec spends it too
    selection = Selection.for_settings(settings)
    operation = load_operation(settings.spec)
    profile = select(settings.profile, settings.max_examples)
    client = Client(budget, settings.request_timeout, settings.extra_headers)
    report = RunReport(profile=profile.name, seed=settings.seed)
    interruptions = Interruptions(settings.request_timeout)
    state = Run(settings, profile, client, progress, operation, selection, interruptions, open_database(settings))
    try:
        _preflight(client, Messages(settings))
        report.results += state.scenario_phase()
        state.stopped = state.stopped or state.interruptions.stop_reason
        stateful = profile.stateful_examples > 0
        report.results += state.contract_phase(budget.slice(0.5 if stateful else 1.0))
        if stateful:
            report.results.append(state.stateful_phase(budget.slice(1.0)))
        report.results += state.observer_phase()
    finally:
        client.close()
        report.requests_sent = client.requests_sent
        report.elapsed = time.monotonic() - started
    return report
