"""The kit's error tree; drawn in the package docstring (`conformance/__init__.py`)."""

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
