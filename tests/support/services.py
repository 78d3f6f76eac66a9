"""One rule for tests that need a service the machine may lack (PostgreSQL, Chromium, Playwright)."""

from __future__ import annotations

import os

import pytest


def skip_or_fail(service: str, reason: str | None) -> None:
    """Nothing when `reason` is None; else skip the test locally, and fail it in CI (`CI` set, as `.ci/run` does),
    where a missing service is a broken pipeline, not a choice."""
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{service} is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)
