"""Redaction, curl reproductions and the JUnit report, on hand-made exchanges."""

from __future__ import annotations

import shlex
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from conformance.curl import to_curl
from conformance.exchange import Exchange, Outgoing
from conformance.redaction import Redactor
from conformance.report.junit import to_junit
from conformance.results import CheckResult, Violation
from conformance.runner import RunReport

SECRET = "sk_live_7Hq2Zr9XmP4vT8nB3wK6yD1c"
RESTRICTED = "sk_live_readonly_Q9w8E7r6T5y4U3i2"
REDACT = Redactor.for_settings(SECRET, RESTRICTED)


def request(body: bytes = b'{"message": "it\'s $HOME `x`"}', key: str = SECRET) -> Outgoing:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": "k 1"}
    return Outgoing("POST", "http://h/v1/accounts/ag/messages/responses", headers, body)


def test_redactor_replaces_every_key_with_its_variable() -> None:
    text = REDACT(f"a {SECRET} b {RESTRICTED} c")
    assert SECRET not in text and RESTRICTED not in text
    assert text == "a ${SONARLY_API_KEY} b ${SONARLY_RESTRICTED_API_KEY} c"


def test_curl_is_redacted_and_survives_the_shell_verbatim() -> None:
    command = to_curl(request(), REDACT)
    assert SECRET not in command
    words = shlex.split(command)
    assert "Authorization: Bearer ${SONARLY_API_KEY}" in words
    assert "Idempotency-Key: k 1" in words
    assert words[words.index("--data-binary") + 1] == '{"message": "it\'s $HOME `x`"}'


def test_curl_header_expands_the_key_from_the_environment() -> None:
    command = to_curl(request(), REDACT)
    header = next(part for part in command.split(" -H ") if part.startswith('"Authorization'))
    echoed = subprocess.run(
        ["bash", "-c", f"printf %s {header}"], env={"SONARLY_API_KEY": "from-env"}, capture_output=True, text=True
    )
    assert echoed.stdout == "Authorization: Bearer from-env"


def exchange(status: int = 400) -> Exchange:
    return Exchange(request(), status, {}, b"{}", datetime.now(UTC), 0.01)


def test_junit_has_one_testcase_per_check_and_no_secret() -> None:
    failed = CheckResult("auth.unknown_key", "rule", "scenario", count=1)
    failed.violations.append(Violation(f"rule with {SECRET}", "401", "202", request(), detail=SECRET))
    passed = CheckResult("auth.missing_header", "rule", "scenario", count=1)
    skipped = CheckResult("auth.restricted_key", "rule", "scenario", skip_reason="needs --restricted-api-key")
    report = RunReport(results=[failed, passed, skipped], requests_sent=3, elapsed=1.0)
    xml = ET.tostring(to_junit(report, REDACT).getroot(), encoding="unicode")
    assert SECRET not in xml
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and suite.get("tests") == "3"
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"auth.unknown_key", "auth.missing_header", "auth.restricted_key"}
    assert "curl" in (cases["auth.unknown_key"].find("failure").text or "")
    assert cases["auth.restricted_key"].find("skipped").get("message") == "needs --restricted-api-key"
    assert report.exit_code == 1
