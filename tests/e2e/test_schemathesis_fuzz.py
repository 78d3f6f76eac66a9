"""Schemathesis against the running mock, both documents, positive and negative: no 5xx, all conformant.

`positive_data_acceptance` is left out on purpose: random `prospectId`s are unknown, and the contract
answers 422 for them. The conformance kit (conformance/) pins fixtures to reach the success path.
"""

from __future__ import annotations

import re
import subprocess
import sys

from support.mock_fixtures import API_KEY
from support.mock_process import ROOT

CHECKS = ["--checks", "all", "--exclude-checks", "positive_data_acceptance"]


def _schemathesis(spec: str, url: str, examples: int, *headers: str) -> tuple[int, str, int]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(ROOT / "openapi" / spec),
        "--url",
        url,
        "--mode",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        "20261127",
        "--no-color",
        *CHECKS,
        *[part for header in headers for part in ("--header", header)],
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    return result.returncode, output, int(generated.group(1)) if generated else 0


def test_contract_fuzzing_finds_no_5xx_and_no_nonconformance(mock_url: str) -> None:
    code, output, cases = _schemathesis(
        "sonarly.yaml", mock_url, 500, f"Authorization: Bearer {API_KEY}", "X-Mock-Session: schemathesis"
    )
    assert code == 0, output[-4000:]
    assert cases >= 500, f"only {cases} cases generated:\n{output[-2000:]}"
    assert API_KEY not in output, "the API key must be filtered from Schemathesis' report"


def test_control_api_fuzzing_finds_no_5xx_and_no_nonconformance(mock_url: str) -> None:
    code, output, cases = _schemathesis(
        "mock-control.yaml", f"{mock_url}/__mock", 60, "X-Mock-Session: schemathesis-control"
    )
    assert code == 0, output[-4000:]
    assert cases >= 200, f"only {cases} cases generated:\n{output[-2000:]}"
