"""JUnit XML with one test case per check, for CI test-result views."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.redaction import Redactor
from conformance.report.console import render_violation
from conformance.results import Status
from conformance.runner import RunReport


def to_junit(report: RunReport, redact: Redactor) -> ET.ElementTree:
    """One <testcase> per check; failures carry every violation, skips their reason."""
    failed = sum(result.status is Status.FAILED for result in report.results)
    skipped = sum(result.status is Status.SKIPPED for result in report.results)
    suite = ET.Element(
        "testsuite",
        name="sonarly-conformance",
        tests=str(len(report.results)),
        failures=str(failed),
        skipped=str(skipped),
        errors="0",
        time=f"{report.elapsed:.3f}",
    )
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{result.phase}", name=result.name)
        if result.status is Status.FAILED:
            text = "\n".join(line for v in result.violations for line in render_violation(v, redact, True))
            failure = ET.SubElement(case, "failure", message=redact(result.violations[0].rule))
            failure.text = text
        elif result.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=redact(result.reason))
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.ElementTree(root)


def write_junit(report: RunReport, redact: Redactor, path: Path) -> None:
    """Write the report, creating parent directories as CI artifact paths often need."""
    path.parent.mkdir(parents=True, exist_ok=True)
    to_junit(report, redact).write(path, encoding="utf-8", xml_declaration=True)
