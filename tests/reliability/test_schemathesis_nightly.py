"""Nightly Schemathesis: the CI fuzz test (tests/e2e/test_schemathesis_fuzz.py) with ten times the cases.

At least 5,000 generated cases against the contract (ten seeds of 500: Schemathesis' negative mode slows
down super-linearly within one run, 300 cases in 9 s but 600 in 76 s here, while ten seeds cost ten times
one) and 1,000 against the control API, positive and negative, every check but `positive_data_acceptance`:
no 5xx, every response conformant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.mock_fixtures import API_KEY
from support.mock_process import MockProcess
from support.schemathesis_run import CONTROL_CONFIG, SEED, run_schemathesis

pytestmark = pytest.mark.nightly
TIMEOUT = 3600
CONTRACT_BATCHES, CASES_PER_BATCH = 10, 500  # 5,000 cases


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[str]:
    with MockProcess("--rate-limit", "off") as server:
        yield server.base_url


@pytest.mark.parametrize("batch", range(CONTRACT_BATCHES))
def test_contract_fuzzing_500_cases_per_seed_finds_no_5xx_and_no_nonconformance(fuzzed: str, batch: int) -> None:
    code, output, cases = run_schemathesis(
        "sonarly.yaml",
        fuzzed,
        CASES_PER_BATCH,
        f"Authorization: Bearer {API_KEY}",
        f"X-Mock-Session: schemathesis-nightly-{batch}",
        timeout=TIMEOUT,
        seed=SEED + batch,
    )
    assert code == 0, output[-6000:]
    assert cases >= CASES_PER_BATCH, f"only {cases} cases generated:\n{output[-2000:]}"
    assert API_KEY not in output, "the API key must be filtered from Schemathesis' report"


def test_control_api_fuzzing_with_1000_cases_finds_no_5xx_and_no_nonconformance(fuzzed: str) -> None:
    code, output, cases = run_schemathesis(
        "mock-control.yaml",
        f"{fuzzed}/__mock",
        400,
        "X-Mock-Session: schemathesis-control-nightly",
        timeout=TIMEOUT,
        config=CONTROL_CONFIG,
    )
    assert code == 0, output[-6000:]
    assert cases >= 1000, f"only {cases} cases generated:\n{output[-2000:]}"
