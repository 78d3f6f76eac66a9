"""Contract phase: Schemathesis positive and negative cases, judged by Schemathesis' own checks.

Drives Schemathesis through its Python API rather than its CLI so that generation can be pinned to fixtures
(see `generation`), 429s can be waited out, and each built-in check is tallied under its own name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis.control import current_build_context
from hypothesis.database import ExampleDatabase, choices_to_bytes
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import (  # public names, resolved through the check registry
    CheckFunction,
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from conformance.budget import BudgetExhausted
from conformance.client import MAX_TIMEOUTS, Client, RequestTimedOut, StillRateLimited, TransportFailure
from conformance.errors import SpecError
from conformance.exchange import Exchange, Outgoing
from conformance.generation import fixture_cases
from conformance.messages import PATH
from conformance.profiles import Profile
from conformance.results import CheckResult, Violation
from conformance.settings import Settings

__all__ = ["CHECKS", "ContractPhase", "SpecError", "load_operation"]

PHASE = "contract"
MAX_VIOLATIONS_KEPT = 10
# A correct server answers a valid case 202, 409 (prospect state) or 422 (unknown prospect or conversation);
# an invalid one 400 only: a shape error is never 422, which is for rules that need stored data. 429 is
# waited out by the client and never judged by these two checks.
SCHEMATHESIS_CONFIG = {
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["202", "409", "422", "429"]},
        "negative_data_rejection": {"expected-statuses": ["400", "429"]},
    }
}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
DATABASE_KEYS = {mode: f"sonarly-conformance.contract.{mode.value}".encode() for mode in MODES}


@dataclass(frozen=True)
class ContractCheck:
    """A Schemathesis check, the rule it stands for, and the generation modes it judges."""

    function: CheckFunction
    rule: str
    expected: str
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    judges_429: bool = True

    @property
    def name(self) -> str:
        return f"contract.{self.function.__name__}"


CHECKS = (
    ContractCheck(not_a_server_error, "The server answers every request, never with a 5xx", "a status below 500"),
    ContractCheck(
        status_code_conformance,
        "Every status code is one the contract documents",
        "202, 400, 401, 403, 409, 422, 429, 500 or 502",
    ),
    ContractCheck(
        content_type_conformance, "Responses are application/json as documented", "Content-Type application/json"
    ),
    ContractCheck(
        response_headers_conformance,
        "Documented response headers are valid (Retry-After on 429)",
        "headers as documented for the status",
    ),
    ContractCheck(
        response_schema_conformance,
        "Every body matches the documented envelope and schema",
        "a body valid against the documented schema",
    ),
    ContractCheck(
        positive_data_acceptance,
        "A valid request is accepted (202) or refused only for data or state (422/409)",
        "202, or 409/422 for the prospect's data or state",
        (GenerationMode.POSITIVE,),
        judges_429=False,
    ),
    ContractCheck(
        negative_data_rejection,
        "A request that breaks the schema is rejected with 400 VALIDATION_ERROR",
        "400 VALIDATION_ERROR (never 422: that is for stored data)",
        (GenerationMode.NEGATIVE,),
        judges_429=False,
    ),
)


def load_operation(spec: Path) -> APIOperation:
    """Load the contract with a fixed Schemathesis config (no discovery of a stray schemathesis.toml)."""
    try:
        config = schemathesis.Config.from_dict(SCHEMATHESIS_CONFIG)
        schema = schemathesis.openapi.from_path(spec, config=config)
        return schema[PATH]["POST"]
    except FileNotFoundError:
        raise SpecError(f"spec file {spec} does not exist") from None
    except KeyError:
        raise SpecError(f"spec {spec} has no operation POST {PATH}") from None
    except Exception as exc:
        raise SpecError(f"spec {spec} cannot be loaded: {type(exc).__name__}: {exc}") from None


def to_outgoing(case: Case, base_url: str) -> Outgoing:
    """Serialize a case exactly as Schemathesis would send it, so one HTTP client serves every phase."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    fields = {name: kwargs.get(name) for name in ("method", "url", "headers", "params", "json", "data")}
    prepared = requests.Request(**fields).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    headers = {
        str(name): value if isinstance(value, str) else value.decode("latin-1")
        for name, value in prepared.headers.items()
    }
    return Outgoing(str(prepared.method), str(prepared.url), headers, body if isinstance(body, bytes) else None)


class ContractPhase:
    """Runs both modes and tallies each selected Schemathesis check as a named check of the kit.

    Violations are tallied, not raised, so one run reports every broken rule; the choices of a case that
    found a violation are saved to the Hypothesis database by hand, and Phase.reuse replays them first on
    the next run (Hypothesis drops an entry once its replay no longer fails).
    """

    def __init__(
        self,
        operation: APIOperation,
        settings: Settings,
        profile: Profile,
        client: Client,
        database: ExampleDatabase | None = None,
    ) -> None:
        self.operation = operation
        self.settings = settings
        self.profile = profile
        self.client = client
        self.database = database
        self.results = {check.name: CheckResult(check.name, check.rule, PHASE) for check in CHECKS}
        self.cases = dict.fromkeys(MODES, 0)
        self.timeouts = 0
        self.stopped: str | None = None

    def run(
        self,
        progress: Callable[[], None] = lambda: None,
        excluded: Callable[[str], str | None] = lambda name: None,
        stopped: str | None = None,
    ) -> list[CheckResult]:
        """Explore positive then negative cases within the profile's example budget and the client's budget."""
        self.stopped = stopped
        selected = [check for check in CHECKS if excluded(check.name) is None]
        modes = {mode for check in selected for mode in check.modes}
        for mode, examples in zip(MODES, (self.profile.positive_examples, self.profile.negative_examples), strict=True):
            if mode in modes:
                self._explore(mode, examples, selected, progress)
        for check in CHECKS:
            self._conclude(check, excluded(check.name))
        return list(self.results.values())

    def _conclude(self, check: ContractCheck, excluded: str | None) -> None:
        """Deselected, incomplete (a mode it judges sent no case before the stop) or complete."""
        result = self.results[check.name]
        if excluded is not None:
            result.skip_reason = excluded
            return
        missing = [mode.value for mode in check.modes if self.cases[mode] == 0]
        if self.stopped and missing:
            result.incomplete_reason = f"no {' or '.join(missing)} case was sent: {self.stopped}"
        elif self.stopped:
            counts = ", ".join(f"{self.cases[mode]} {mode.value}" for mode in check.modes)
            result.note = f"cut short after {counts} case(s): {self.stopped}"

    def _explore(
        self, mode: GenerationMode, examples: int, checks: list[ContractCheck], progress: Callable[[], None]
    ) -> None:
        if self.stopped is not None:
            return

        @settings(
            max_examples=examples,
            database=self.database,
            deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=fixture_cases(self.operation, mode, self.settings))
        def explore(case: Case) -> None:
            if self.stopped is not None:
                raise BudgetExhausted(self.stopped)  # ends Hypothesis' loop; nothing is left to send
            if self._exercise(case, checks):
                self._remember(mode)
            progress()

        explore._hypothesis_internal_database_key = DATABASE_KEYS[mode]  # type: ignore[attr-defined]
        # What @hypothesis.seed sets, without the database=None it also sets: a seeded run must still replay
        # the failures saved by earlier runs (run_state_machine_as_test reads the same attribute).
        explore._hypothesis_internal_use_seed = self.settings.seed  # type: ignore[attr-defined]
        try:
            explore()
        except BudgetExhausted:
            pass

    def _remember(self, mode: GenerationMode) -> None:
        """Save the current case's choices, so the next run replays it first (Phase.reuse)."""
        if self.database is not None:
            choices = current_build_context().data.choices
            self.database.save(DATABASE_KEYS[mode], choices_to_bytes(choices))

    def _exercise(self, case: Case, checks: list[ContractCheck]) -> bool:
        """Send one case and judge it; True when it found a new violation."""
        try:
            request = to_outgoing(case, self.settings.base_url)
        except (ValueError, UnicodeError, requests.RequestException):
            reject()  # a header value no HTTP client can put on the wire
        try:
            exchange = self.client.send(request)
        except BudgetExhausted as exc:
            self.stopped = str(exc)
            return False
        except StillRateLimited:
            return False  # a 429 left after waiting is no case's fault: not judged
        except RequestTimedOut:
            self.timeouts += 1
            if self.timeouts >= MAX_TIMEOUTS:
                self.stopped = f"{self.timeouts} requests got no answer within --request-timeout"
            return False
        except TransportFailure as exc:
            self._record_transport_failure(exc)
            return True
        mode = case.meta.generation.mode if case.meta else GenerationMode.POSITIVE
        self.cases[mode] += 1
        return self._judge(case, exchange, mode, checks)

    def _judge(self, case: Case, exchange: Exchange, mode: GenerationMode, checks: list[ContractCheck]) -> bool:
        found = False
        for check in checks:
            if mode not in check.modes or (exchange.status == 429 and not check.judges_429):
                continue
            result = self.results[check.name]
            result.count += 1
            try:
                case.validate_response(exchange.raw, checks=[check.function])
            except FailureGroup as group:
                found = self._keep(check, exchange, group, mode) or found
        return found

    def _keep(self, check: ContractCheck, exchange: Exchange, group: FailureGroup, mode: GenerationMode) -> bool:
        result, kept = self.results[check.name], False
        for failure in group.exceptions:
            actual = f"{exchange.summary()} to a {mode.value} case: {failure.title}"
            if any(v.actual == actual for v in result.violations):
                continue
            if len(result.violations) < MAX_VIOLATIONS_KEPT:
                violation = Violation(result.rule, check.expected, actual, exchange.request, failure.message)
                result.violations.append(violation)
                kept = True
        return kept

    def _record_transport_failure(self, exc: TransportFailure) -> None:
        result = self.results[f"contract.{not_a_server_error.__name__}"]
        result.count += 1
        result.violations.append(Violation(result.rule, "an HTTP response", f"no response ({exc})", exc.request))
