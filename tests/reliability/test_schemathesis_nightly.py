"""Nightly Schemathesis: the CI fuzz test (tests/e2e/test_schemathesis_fuzz.py) with ten times the cases.

At least 5,000 generated cases against the contract and 1,000 against the control API, positive and
negative, every check but `positive_data_acceptance`: no 5xx, every response conformant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.mock_fixtures import API_KEY
from support.mock_process import MockProcess
from support.schemathesis_run import run_schemathesis

pytestmark = pytest.mark.nightly
TIMEOUT = 3600


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[str]:
    with MockProcess("--rate-limit", "off") as server:
        yield server.base_url


def test_contract_fuzzing_with_5000_cases_finds_no_5xx_and_no_nonconformance(fuzzed: str) -> None:
    code, output, cases = run_schemathesis(
        "sonarly.yaml",
        fuzzed,
        5000,
        f"Authorization: Bearer {API_KEY}",
        "X-Mock-Session: schemathesis-nightly",
        timeout=TIMEOUT,
    )
    assert code == 0, output[-6000:]
    assert cases >= 5000, f"only {cases} cases generated:\n{output[-2000:]}"
    assert API_KEY not in output, "the API key must be filtered from Schemathesis' report"


def test_control_api_fuzzing_with_1000_cases_finds_no_5xx_and_no_nonconformance(fuzzed: str) -> None:
    code, output, cases = run_schemathesis(
        "mock-control.yaml", f"{fuzzed}/__mock", 400, "X-Mock-Session: schemathesis-control-nightly", timeout=TIMEOUT
    )
    assert code == 0, output[-6000:]
    assert cases >= 1000, f"only {cases} cases generated:\n{output[-2000:]}"
