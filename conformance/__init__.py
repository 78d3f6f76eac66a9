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
"""

from __future__ import annotations


class KitError(Exception):
    """Root of the errors that stop a run without a verdict; `exit_code` is what the CLI exits with."""

    exit_code = 2


class UsageError(KitError):
    """A configuration problem the user must fix (bad option, environment variable or config value)."""


class FileError(UsageError):
    """A file named by an option cannot be read or written."""


class SpecError(KitError):
    """The contract file cannot be loaded or lacks the operation."""


class TargetError(KitError):
    """The target answered the preflight request in a way that shows a wrong option (or did not answer)."""
