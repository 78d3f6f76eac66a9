"""Schemathesis against the running mock, both documents, positive and negative: no 5xx, all conformant.

The runner (and why `positive_data_acceptance` is left out) is in tests/support/schemathesis_run.py; the
nightly variant with more cases is tests/reliability/test_schemathesis_nightly.py.
"""

from __future__ import annotations

from support.mock_fixtures import API_KEY
from support.schemathesis_run import CONTROL_CONFIG, run_schemathesis


def test_contract_fuzzing_finds_no_5xx_and_no_nonconformance(mock_url: str) -> None:
    code, output, cases = run_schemathesis(
        "sonarly.yaml", mock_url, 500, f"Authorization: Bearer {API_KEY}", "X-Mock-Session: schemathesis"
    )
    assert code == 0, output[-4000:]
    assert cases >= 500, f"only {cases} cases generated:\n{output[-2000:]}"
    assert API_KEY not in output, "the API key must be filtered from Schemathesis' report"


def test_control_api_fuzzing_finds_no_5xx_and_no_nonconformance(mock_url: str) -> None:
    code, output, cases = run_schemathesis(
        "mock-control.yaml", f"{mock_url}/__mock", 60, "X-Mock-Session: schemathesis-control", config=CONTROL_CONFIG
    )
    assert code == 0, output[-4000:]
    assert cases >= 200, f"only {cases} cases generated:\n{output[-2000:]}"
