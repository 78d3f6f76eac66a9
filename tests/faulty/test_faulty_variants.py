"""Every faulty variant makes the kit exit 1 and name the check that caught it; the correct mock passes."""

from __future__ import annotations

import pytest

from conformance.runner import all_check_names
from faulty import variants, variants_coverage, variants_validation
from faulty.harness import run_kit, serving
from faulty.variants import Fault, mock

FAULTS = (*variants.FAULTS, *variants_validation.FAULTS, *variants_coverage.FAULTS)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
def test_fault_is_caught(fault: Fault, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    with serving(fault.build(monkeypatch)) as base_url:
        run = run_kit(base_url, tmp_path, *fault.args)
    assert run.exit_code == 1, run.output
    assert f"FAILED {fault.check}" in run.output
    assert f'name="{fault.check}"><failure' in run.junit


def test_correct_mock_with_rate_limiting_passes(tmp_path) -> None:
    with serving(mock(rate_limit="20/s")) as base_url:
        run = run_kit(base_url, tmp_path, "--profile", "quick")
    assert run.exit_code == 0, run.output
    assert "0 failed" in run.output
    assert 'name="rate_limit.retry_after"' in run.junit


def test_every_check_of_the_kit_has_a_faulty_variant() -> None:
    """A check no variant trips has never been seen to fail: it could be green whatever the server does."""
    untested = sorted(set(all_check_names()) - {fault.check for fault in FAULTS})
    assert untested == []
