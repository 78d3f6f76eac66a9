"""The code stays typed and tidy: mypy, ruff's lint and ruff's format run with the suite, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["mypy"],  # files and strictness come from [tool.mypy] in pyproject.toml
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
    ],
    ids=lambda command: " ".join(command),
)
def test_tool_reports_nothing(command: list[str]) -> None:
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
