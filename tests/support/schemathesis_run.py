"""Run the Schemathesis CLI against a running mock; shared by the CI fuzz test and its nightly variant.

`positive_data_acceptance` is left out on purpose: random `prospectId`s are unknown, and the contract
answers 422 for them. The conformance kit (conformance/) pins fixtures to reach the success path.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support.mock_process import ROOT

CHECKS = ["--checks", "all", "--exclude-checks", "positive_data_acceptance"]
SEED = 20261127
CONTROL_CONFIG = Path(__file__).with_name("schemathesis-control.toml")


def run_schemathesis(
    spec: str,
    url: str,
    examples: int,
    *headers: str,
    timeout: float = 600,
    seed: int = SEED,
    config: Path | None = None,
) -> tuple[int, str, int]:
    """Fuzz `openapi/<spec>` at `url`; returns (exit code, output, number of generated cases).

    Without `config`, Schemathesis reads the repository's schemathesis.toml (made for the Sonarly API)."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        *(["--config-file", str(config)] if config else []),
        "run",
        str(ROOT / "openapi" / spec),
        "--url",
        url,
        "--mode",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--no-color",
        *CHECKS,
        *[part for header in headers for part in ("--header", header)],
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    return result.returncode, output, int(generated.group(1)) if generated else 0
