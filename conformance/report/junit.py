"""JUnit XML with one test case per check, for CI test-result views.

The file is always well-formed XML 1.0: every text passes `printable`, which escapes the characters XML
cannot carry (NUL and other controls, lone surrogates from invalid UTF-8, U+FFFE/U+FFFF).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.errors import FileError
from conformance.redaction import Redactor, printable
from conformance.report.console import render_violation
from conformance.results import Status
from conformance.runner import RunReport


def _text(text: str, redact: Redactor) -> str:
    return printable(redact(text), keep="\n\t")


def to_junit(report: RunReport, redact: Redactor) -> ET.ElementTree:
    """One <testcase> per check; failures carry every violation, skips their reason, incomplete checks an error."""
    counts = {status: sum(result.status is status for result in report.results) for status in Status}
    suite = ET.Element(
        "testsuite",
        name="sonarly-conformance",
        tests=str(len(report.results)),
        failures=str(counts[Status.FAILED]),
        skipped=str(counts[Status.SKIPPED]),
        errors=str(counts[Status.INCOMPLETE]),
        time=f"{report.elapsed:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("seed", report.seed), ("profile", report.profile), ("requests", report.requests_sent)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for result in report.results:
        name = _text(result.name, redact)
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{result.phase}", name=name)
        if result.status is Status.FAILED:
            text = "\n".join(line for v in result.violations for line in render_violation(v, redact, True))
            failure = ET.SubElement(case, "failure", message=_text(result.violations[0].rule, redact))
            failure.text = text
        elif result.status is Status.INCOMPLETE:
            ET.SubElement(case, "error", type="incomplete", message=_text(result.reason, redact))
        elif result.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=_text(result.reason, redact))
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.ElementTree(root)


def check_writable(path: Path) -> None:
    """Fail before the run, not after it, when the report cannot be written (FileError, exit 2)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(f"--junit-xml {path}: cannot create {path.parent}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise FileError(f"--junit-xml {path} is a directory")
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise FileError(f"--junit-xml {path} is not writable")


def write_junit(report: RunReport, redact: Redactor, path: Path) -> None:
    """Write the report, creating parent directories as CI artifact paths often need."""
    check_writable(path)
    try:
        to_junit(report, redact).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise FileError(f"--junit-xml {path} cannot be written: {exc.strerror or exc}") from None
