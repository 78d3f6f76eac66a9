"""Last test of the run: every response the HTTP suite received must conform, checked by openapi-core.

The file name sorts last, and support.pytest_plugin moves it to the end of the run in any case, so the session
recorder holds every exchange of the suite when this runs. Requests are only reported: tests send invalid
requests on purpose, and the server is judged by how it answers them.
"""

import pytest

from support.openapi_recorder import ExchangeRecorder, validate_all
from support.pytest_plugin import items_using_recorder

# A full run records hundreds of exchanges; a partial run must record one per recording test, up to this.
MIN_EXCHANGES = 20


def test_every_recorded_response_conforms_to_the_contract(
    recorded_exchanges: ExchangeRecorder, request: pytest.FixtureRequest
) -> None:
    users = items_using_recorder(request.session, request.node)
    if not users:
        pytest.skip("no test in this run sends HTTP through `recorded_exchanges`; run it with the HTTP suite")
    exchanges = recorded_exchanges.exchanges
    minimum = min(MIN_EXCHANGES, len(users))
    assert len(exchanges) >= minimum, (
        f"{len(users)} tests use `recorded_exchanges` but only {len(exchanges)} exchanges were recorded "
        f"(expected at least {minimum}): is the recorder installed on their httpx client?"
    )
    verdict = validate_all(exchanges)
    print(
        f"openapi-core: {verdict.checked} responses checked, {verdict.skipped} outside the document, "
        f"{len(verdict.request_notes)} request problems (sent on purpose, reported only)"
    )
    print("\n".join(verdict.request_notes))
    if verdict.checked == 0:
        pytest.skip(f"{len(exchanges)} exchanges recorded, none on a path of openapi/sonarly.yaml")
    assert not verdict.failures, "responses that break openapi/sonarly.yaml:\n" + "\n".join(verdict.failures)
