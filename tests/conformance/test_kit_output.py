"""Redaction, curl reproductions and the JUnit report, on hand-made exchanges."""

from __future__ import annotations

import shlex
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from conformance.curl import to_curl
from conformance.exchange import Exchange, Outgoing
from conformance.redaction import Redactor, printable
from conformance.report.console import render_violation
from conformance.report.junit import to_junit
from conformance.results import CheckResult, Violation
from conformance.runner import RunReport
from conformance.settings import resolve

SECRET = "sk_live_7Hq2Zr9XmP4vT8nB3wK6yD1c"
RESTRICTED = "sk_live_readonly_Q9w8E7r6T5y4U3i2"
REQUIRED = {"base_url": "http://h", "account_group_id": "ag", "prospect_id": "p"}
REDACT = Redactor.for_settings(resolve({**REQUIRED, "api_key": SECRET, "restricted_api_key": RESTRICTED}, {}))
HOSTILE = b'{"m": "\x00\x01\x7f\xc2\x85 \xff\xfe\xef\xbf\xbe it\'s 100% \\ \n @x"}'


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
    header = next(part for part in command.split(" -H ") if part.startswith("'Authorization"))
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


def test_a_short_key_is_redacted_only_as_a_whole_token() -> None:
    redact = Redactor.for_settings(resolve({**REQUIRED, "api_key": "abc"}, {}))
    assert redact("abc") == "${SONARLY_API_KEY}"
    assert redact("key=abc, abcd, xabc, abc_1") == "key=${SONARLY_API_KEY}, abcd, xabc, abc_1"
    words = shlex.split(to_curl(request(body=b'{"message": "abcdef"}', key="abc"), redact))
    assert "Authorization: Bearer ${SONARLY_API_KEY}" in words  # the header value is replaced structurally
    assert '{"message": "abcdef"}' in words


def test_gateway_header_values_are_secrets() -> None:
    settings = resolve({**REQUIRED, "api_key": SECRET, "header": ("X-Gateway-Token: gw-0123456789abcdef",)}, {})
    redact = Redactor.for_settings(settings)
    assert redact("token gw-0123456789abcdef") == "token ${SONARLY_HEADER_X_GATEWAY_TOKEN}"


def _printf_output(command: str) -> bytes:
    printf = command.split(" | curl ", 1)[0]
    env = {"SONARLY_API_KEY": SECRET, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["bash", "-c", printf], env=env, capture_output=True, check=True).stdout


def test_curl_replays_the_exact_bytes_of_any_body() -> None:
    body = HOSTILE + SECRET.encode()
    command = to_curl(request(body=body), REDACT)
    assert command.startswith("printf '") and " --data-binary @-" in command
    assert SECRET not in command and command.isprintable()
    assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0
    assert _printf_output(command) == body


def test_curl_quotes_unprintable_header_bytes_with_ansi_c() -> None:
    outgoing = Outgoing("POST", "http://h/x", {"Idempotency-Key": "k\x01\x7f'"}, None)
    command = to_curl(outgoing, REDACT)
    assert command.isprintable() and "$'" in command
    echoed = subprocess.run(["bash", "-c", f"printf %s {command.split(' -H ')[1]}"], capture_output=True)
    assert echoed.stdout == b"Idempotency-Key: k\x01\x7f'"


def test_curl_keeps_a_missing_content_type_missing() -> None:
    outgoing = Outgoing("POST", "http://h/x", {}, b"{}")
    assert "-H 'Content-Type:'" in to_curl(outgoing, REDACT)


def test_printable_escapes_what_terminals_and_xml_cannot_take() -> None:
    text = HOSTILE.decode("utf-8", "surrogateescape") + "\u202e\ud800"
    shown = printable(text)
    assert shown.isprintable()
    assert "\\x00" in shown and "\\xff" in shown and "\\ufffe" in shown and "\\u202e" in shown
    assert printable("a\nb\tc", keep="\n\t") == "a\nb\tc"


def test_junit_is_well_formed_whatever_the_server_sent() -> None:
    hostile = HOSTILE.decode("utf-8", "surrogateescape")
    failed = CheckResult("envelope.documented_response", f"rule {hostile}", "observed", count=1)
    failed.violations.append(Violation("rule", "200", f"500 {hostile}", request(body=HOSTILE), detail=hostile * 3))
    incomplete = CheckResult("validation.body_shape", "rule", "scenario", incomplete_reason=f"timeout {hostile}")
    report = RunReport(results=[failed, incomplete], requests_sent=2, elapsed=1.0, seed=7)
    xml = ET.tostring(to_junit(report, REDACT).getroot(), encoding="unicode")
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and (suite.get("failures"), suite.get("errors")) == ("1", "1")
    assert report.exit_code == 1
    assert report.exit_code == 1 and RunReport(results=[incomplete]).exit_code == 3


def test_long_repros_are_elided_only_on_the_console() -> None:
    violation = Violation("rule", "400", "202", request(body=b'{"message": "' + b"m" * 9000 + b'"}'))
    console = render_violation(violation, REDACT, verbose=False, console=True)
    full = render_violation(violation, REDACT, verbose=True, console=True)
    repro = next(line for line in console if line.startswith("repro:"))
    assert "elided; --verbose or --junit-xml has it" in repro and len(repro) < 2200
    assert any(len(line) > 9000 for line in full)
    assert any(len(line) > 9000 for line in render_violation(violation, REDACT, verbose=True))
