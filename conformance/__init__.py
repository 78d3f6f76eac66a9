"""Conformance kit for POST /v1/accounts/{accountGroupId}/messages/responses.

Every error that stops a run before a verdict derives from one root, so the CLI catches it once and turns it
into one line and exit code 2 (like httpx's exception tree, callers can catch as broadly as they need):

    KitError                    exit 2: the run could not give a verdict
    ├── UsageError              an option, environment variable or config value is wrong (settings)
    │   └── FileError           --config cannot be read, --junit-xml cannot be written
    ├── SpecError               the OpenAPI file cannot be loaded or lacks the operation (contract)
    └── TargetError             the preflight request shows a wrong --base-url, --api-key or
                                --account-group-id (runner)

A violation (exit 1) and an incomplete run (exit 3) are verdicts, not errors: they come from the report.

The public API, for a test suite or a script that wants the verdict without the CLI:

    from conformance import Settings, run
    report = run(Settings(base_url="http://127.0.0.1:8080", api_key=..., account_group_id=..., prospect_id=...))
    assert report.exit_code == 0, [r.name for r in report.results if r.status.name == "FAILED"]
"""

from __future__ import annotations

from conformance.errors import FileError, KitError, SpecError, TargetError, UsageError
from conformance.runner import RunReport, run
from conformance.settings import Settings

__all__ = ["FileError", "KitError", "RunReport", "Settings", "SpecError", "TargetError", "UsageError", "run"]
