"""The scenario framework: a named check is a function that sends requests and makes assertions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Barrier
from typing import Any

from schemathesis import APIOperation

from conformance.client import Client
from conformance.exchange import Exchange, Outgoing
from conformance.messages import Messages
from conformance.profiles import Profile
from conformance.results import CheckResult, record
from conformance.settings import Settings

PHASE = "scenario"
FIRST = 0  # runs before any other scenario: it needs fixture state that later scenarios may change
DEFAULT_ORDER = 100


@dataclass(frozen=True)
class Scenario:
    """One named check of the scenario phase and the fixtures it cannot run without."""

    name: str
    rule: str
    run: Callable[[ScenarioContext], None]
    needs: tuple[str, ...] = ()
    order: int = DEFAULT_ORDER

    def missing(self, settings: Settings) -> list[str]:
        """The options this scenario needs that the run did not get."""
        return [name for name in self.needs if not getattr(settings, name)]


REGISTRY: list[Scenario] = []


def scenario(
    name: str, rule: str, needs: Sequence[str] = (), order: int = DEFAULT_ORDER
) -> Callable[[Callable], Callable]:
    """Register a scenario function under a stable check name.

    The registry stays sorted by `order` (stable for equal orders), so a scenario that depends on the
    fixtures' state says so explicitly instead of relying on which module happens to be imported first.
    """

    def register(function: Callable[[ScenarioContext], None]) -> Callable[[ScenarioContext], None]:
        REGISTRY.append(Scenario(name, rule, function, tuple(needs), order))
        REGISTRY.sort(key=lambda registered: registered.order)
        return function

    return register


class ScenarioContext:
    """What a scenario gets: fixtures, a request factory, a client, and a soft `expect`."""

    def __init__(
        self, settings: Settings, profile: Profile, client: Client, result: CheckResult, operation: APIOperation
    ) -> None:
        self.settings = settings
        self.operation = operation
        self.profile = profile
        self.messages = Messages(settings)
        self.client = client
        self.result = result

    def send(self, request: Outgoing) -> Exchange:
        """Send one request (429s are waited out by the client)."""
        return self.client.send(request)

    def post(self, body: Any = None, **options: Any) -> Exchange:
        """Build and send one POST, see `Messages.post`."""
        return self.send(self.messages.post(body, **options))

    def send_together(self, requests: Sequence[Outgoing]) -> list[Exchange]:
        """Release all requests at the same instant, to exercise the server's handling of races."""
        barrier = Barrier(len(requests))

        def fire(request: Outgoing) -> Exchange:
            barrier.wait()
            return self.client.send(request)

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(fire, requests))

    def expect(self, assertion: Callable[..., None], *args: Any, label: str = "") -> bool:
        """Run one assertion; record a violation instead of stopping, so one run reports every problem."""
        return record(self.result, assertion, *args, label=label)
