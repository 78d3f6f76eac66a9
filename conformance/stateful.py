"""Model-based fuzzing (`--profile thorough`): random request sequences checked against an idempotency model.

Hypothesis drives a small pool of keys and body variants; every response is compared with what the model
says a correct server must answer. A failure shrinks to a minimal sequence, which the report prints.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import ExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from conformance.assertions import rejected_with, same_data, status_in
from conformance.budget import BudgetExhausted
from conformance.client import Client, RequestTimedOut, StillRateLimited, TransportFailure
from conformance.exchange import DEFAULT_CHANNEL, Exchange
from conformance.messages import Messages, unknown_id
from conformance.profiles import Profile
from conformance.results import CheckFailed, CheckResult, Violation
from conformance.settings import Settings

NAME = "stateful.idempotency_model"
RULE = "Every response in a random sequence matches the idempotency model of the contract"
KEY_POOL = (None, 0, 1, 2)


@dataclass(frozen=True)
class Variant:
    """A body the machine may send; `kind` says how a correct server treats it."""

    body: dict[str, Any]
    kind: str  # "valid", "invalid" (400) or "unknown" (422)

    @property
    def canonical(self) -> dict[str, Any]:
        """The JSON value the server compares, with the default channel filled in."""
        return {"channel": DEFAULT_CHANNEL, **self.body}


def variants(messages: Messages) -> dict[str, Variant]:
    """Two distinct valid bodies, one spelled two ways, and one of each failure kind."""
    a = messages.direct(message="Conformance model: A.")
    return {
        "A": Variant(a, "valid"),
        "A_explicit_channel": Variant({**a, "channel": DEFAULT_CHANNEL}, "valid"),
        "B": Variant(messages.direct(message="Conformance model: B."), "valid"),
        "blank_message": Variant({**a, "message": "  "}, "invalid"),
        "unknown_prospect": Variant({"prospectId": unknown_id("prs"), "message": "A."}, "unknown"),
    }


def expect_model(exchange: Exchange, variant: Variant, bound: tuple[dict, Exchange] | None, seen: set) -> None:
    """Judge one response against the model; raises CheckFailed on a mismatch."""
    conflict = {409} if bound else set()
    if variant.kind == "invalid":
        status_in(exchange, {400} | conflict, rule=RULE + " [invalid body is 400]")
    elif variant.kind == "unknown":
        status_in(exchange, {422} | conflict, rule=RULE + " [unknown prospect is 422]")
    elif bound is not None and bound[0] == variant.canonical:
        same_data(bound[1], exchange, rule=RULE + " [same key, same body replays]")
    elif bound is not None:
        rejected_with(exchange, {409}, "IDEMPOTENCY_CONFLICT", rule=RULE + " [same key, other body conflicts]")
    else:
        status_in(exchange, {202}, rule=RULE + " [unbound key or no key schedules]")
        if exchange.data.get("id") in seen:
            raise CheckFailed(
                RULE + " [new response gets a new id]",
                "an id never returned before",
                f"id {exchange.data.get('id')} again",
                exchange,
            )


def build_machine(messages: Messages, client: Client, steps: list[int], stop: list[str]) -> type:
    """A state machine class bound to this run's client (Hypothesis instantiates it per example)."""
    pool = variants(messages)

    class IdempotencyModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.prefix = f"conformance-model-{uuid.uuid4().hex}"
            self.bound: dict[int, tuple[dict, Exchange]] = {}
            self.ids: set[Any] = set()

        @rule(key=st.sampled_from(KEY_POOL), name=st.sampled_from(sorted(pool)), reorder=st.booleans())
        def send(self, key: int | None, name: str, reorder: bool) -> None:
            if stop:
                return
            variant = pool[name]
            body = dict(reversed(variant.body.items())) if reorder else variant.body
            header = None if key is None else f"{self.prefix}-{key}"
            try:
                exchange = client.send(messages.post(raw=json.dumps(body).encode(), key=header))
            except (BudgetExhausted, StillRateLimited) as exc:
                stop.append(str(exc))
                return
            except RequestTimedOut:
                stop.append(f"a request got no answer within --request-timeout {client.timeout:g} s")
                return
            steps[0] += 1
            bound = self.bound.get(key) if key is not None else None
            expect_model(exchange, variant, bound, self.ids)
            if exchange.status == 202:
                self.ids.add(exchange.data.get("id"))
                if key is not None and bound is None:
                    self.bound[key] = (variant.canonical, exchange)

    return IdempotencyModel


def _shrunk(failure: BaseException) -> Violation:
    """The violation with Hypothesis' minimal failing sequence (its exception notes) as details."""
    assert isinstance(failure, CheckFailed)
    found = failure.violation
    sequence = "\n".join(getattr(failure, "__notes__", []))
    return Violation(found.rule, found.expected, found.actual, found.request, "minimal failing sequence:\n" + sequence)


def run_stateful(
    settings_: Settings,
    profile: Profile,
    client: Client,
    progress: Callable[[], None],
    database: ExampleDatabase | None = None,
) -> CheckResult:
    """Run the machine; a failure is reported with its shrunk sequence of steps.

    --seed is set on the machine class (run_state_machine_as_test copies it), so a seeded run sends the same
    sequences; a failing sequence goes to the database and Phase.reuse replays it first next time.
    """
    result = CheckResult(NAME, RULE, "stateful")
    steps: list[int] = [0]
    stop: list[str] = []
    machine = build_machine(Messages(settings_), client, steps, stop)
    # run_state_machine_as_test copies this attribute (what @hypothesis.seed sets) into its seeded runner.
    machine._hypothesis_internal_use_seed = settings_.seed  # type: ignore[attr-defined]
    config = settings(
        max_examples=profile.stateful_examples,
        stateful_step_count=profile.stateful_steps,
        deadline=None,
        database=database,
        phases=[Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    try:
        run_state_machine_as_test(machine, settings=config)
    except* CheckFailed as group:
        result.violations += [_shrunk(failure) for failure in group.exceptions]
    except* TransportFailure as group:
        result.violations += [
            Violation(RULE, "an HTTP response", str(failure), failure.request)
            for failure in group.exceptions
            if isinstance(failure, TransportFailure)
        ]
    result.count = steps[0]
    progress()
    if stop and steps[0] < profile.stateful_steps:  # not even one full sequence ran
        result.incomplete_reason = stop[0]
    elif stop:
        result.note = f"cut short after {steps[0]} steps: {stop[0]}"
    return result
