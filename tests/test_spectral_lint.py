"""Spectral (ruleset spectral:oas) finds zero errors in the OpenAPI documents, and every warning is explained.

Why: Spectral is the linter API tooling and reviewers use; openapi-spec-validator checks the structure only.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "lint-spec.sh"
LINT_NOTES = ROOT / "openapi" / "LINT.md"
ERROR, WARNING = 0, 1  # Spectral's JSON severities

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="Spectral needs node and npm on PATH (scripts/lint-spec.sh installs the pinned CLI with npm ci)",
)


@pytest.fixture(scope="module")
def lint_results(tmp_path_factory):
    report = tmp_path_factory.mktemp("spectral") / "spectral.json"
    args = [str(SCRIPT), "-f", "stylish", "-f", "json", "--output.json", str(report)]
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert report.exists(), f"Spectral did not run (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
    return run, json.loads(report.read_text(encoding="utf-8"))


def _line(result):
    source = Path(result["source"]).relative_to(ROOT).as_posix()
    return f"{result['code']} {source} {'.'.join(map(str, result['path']))}: {result['message']}"


def test_spectral_finds_zero_errors(lint_results):
    run, results = lint_results
    errors = [_line(result) for result in results if result["severity"] == ERROR]
    assert errors == [], "\n".join(errors)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_remaining_warning_is_explained_in_lint_md(lint_results):
    _, results = lint_results
    notes = LINT_NOTES.read_text(encoding="utf-8").splitlines()
    unexplained = [
        _line(result)
        for result in results
        if result["severity"] == WARNING
        and not any(
            f"{result['code']} | {Path(result['source']).relative_to(ROOT).as_posix()} | "
            f"{'.'.join(map(str, result['path']))} |" in note
            for note in notes
        )
    ]
    assert unexplained == [], "fix these or explain them in openapi/LINT.md:\n" + "\n".join(unexplained)


def test_the_ruleset_really_reports_errors(lint_results, tmp_path):
    """Guards against a vacuous pass (empty ruleset, wrong binary): a broken example must be an error."""
    document = yaml.safe_load((ROOT / "openapi" / "sonarly.yaml").read_text(encoding="utf-8"))
    post = document["paths"]["/v1/accounts/{accountGroupId}/messages/responses"]["post"]
    post["responses"]["202"]["content"]["application/json"]["examples"]["queued"]["value"]["data"]["status"] = "?"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    spectral = ROOT / "node_modules" / ".bin" / "spectral"
    args = [str(spectral), "lint", "--ruleset", str(ROOT / ".spectral.yaml"), "-f", "json", "-q", str(broken)]
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "oas3-valid-media-example" in run.stdout
