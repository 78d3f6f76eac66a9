"""Orchestrates the phases of one run; knows nothing of consoles or files."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from schemathesis import APIOperation

from conformance.budget import Budget, BudgetExhausted
from conformance.client import Client, TransportFailure
from conformance.contract import ContractPhase, load_operation
from conformance.messages import Messages
from conformance.observers import observe
from conformance.profiles import Profile, select
from conformance.results import CheckResult, Status, Violation
from conformance.scenarios import REGISTRY, Scenario, ScenarioContext
from conformance.scenarios.base import PHASE as SCENARIO_PHASE
from conformance.settings import Settings
from conformance.stateful import run_stateful

NO_RESPONSE_RULE = "The server answers every request with an HTTP response"


class TargetUnreachable(Exception):
    """The base URL does not answer at all; the CLI exits 2."""


class Progress(Protocol):
    """What the runner tells a live display."""

    def phase(self, name: str, total: int) -> Callable[[], None]: ...

    def done(self, result: CheckResult) -> None: ...


@dataclass
class RunReport:
    """Everything a reporter needs after the run."""

    results: list[CheckResult] = field(default_factory=list)
    requests_sent: int = 0
    elapsed: float = 0.0
    profile: str = "default"

    @property
    def exit_code(self) -> int:
        """1 when any check found a violation, else 0."""
        return 1 if any(result.status is Status.FAILED for result in self.results) else 0


def _preflight(client: Client, messages: Messages) -> None:
    """One unauthenticated request: any HTTP answer proves the target is there."""
    client.phase = "preflight"
    try:
        client.send(messages.post({}, api_key=None))
    except TransportFailure as exc:
        raise TargetUnreachable(f"cannot reach {messages.settings.base_url}: {exc}") from None


def _run_scenario(scenario: Scenario, ctx: ScenarioContext) -> str | None:
    """Run one scenario; returns why the run must stop, if the budget ran out."""
    try:
        scenario.run(ctx)
    except BudgetExhausted as exc:
        ctx.result.skip_reason = f"stopped early: {exc}"
        return str(exc)
    except TransportFailure as exc:
        ctx.result.violations.append(Violation(NO_RESPONSE_RULE, "an HTTP response", str(exc), exc.request))
    return None


def _scenario_phase(
    settings: Settings, profile: Profile, client: Client, progress: Progress, operation: APIOperation
) -> list[CheckResult]:
    client.phase = SCENARIO_PHASE
    advance = progress.phase("scenario checks", len(REGISTRY))
    results, stopped = [], None
    for scenario in REGISTRY:
        result = CheckResult(scenario.name, scenario.rule, SCENARIO_PHASE)
        missing = scenario.missing(settings)
        if missing:
            result.skip_reason = "needs " + ", ".join("--" + name.replace("_", "-") for name in missing)
        elif stopped:
            result.skip_reason = f"stopped early: {stopped}"
        else:
            stopped = _run_scenario(scenario, ScenarioContext(settings, profile, client, result, operation))
        results.append(result)
        progress.done(result)
        advance()
    return results


def run(settings: Settings, progress: Progress) -> RunReport:
    """Contract phase, scenario phase, model-based phase (thorough), then the run-wide observers."""
    started = time.monotonic()
    budget = Budget(settings.max_time)  # counts from the start: loading the spec spends it too
    operation = load_operation(settings.spec)
    profile = select(settings.profile, settings.max_examples)
    client = Client(budget, profile.max_429_retries)
    report = RunReport(profile=profile.name)
    try:
        _preflight(client, Messages(settings))
        client.phase = "contract"
        total = profile.positive_examples + profile.negative_examples
        contract = ContractPhase(operation, settings, profile, client).run(progress.phase("contract", total))
        for result in contract:
            progress.done(result)
        report.results += contract
        report.results += _scenario_phase(settings, profile, client, progress, operation)
        if profile.stateful_examples:
            client.phase = "stateful"
            stateful = run_stateful(settings, profile, client, progress.phase("stateful", profile.stateful_examples))
            progress.done(stateful)
            report.results.append(stateful)
        for result in observe(client.exchanges, operation, settings):
            progress.done(result)
            report.results.append(result)
    finally:
        client.close()
        report.requests_sent = client.requests_sent
        report.elapsed = time.monotonic() - started
    return report
