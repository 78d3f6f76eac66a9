"""Configuration bounds through HTTP and at start-up: an out-of-range value is refused when it is given
(a 400 envelope naming the field, or a usage error), never a 500 later; no error shows an API key.

Also the DST example measured on 2026-03-08: a New York window inside the spring-forward gap.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import (
    advance,
    assert_accepted,
    assert_error,
    assert_ok,
    details_lines,
    fixtures,
    freeze,
    post,
    replace_fixtures,
)

from support.mock_fixtures import GROUP
from support.mock_process import ROOT, free_port

SECRET = "sk_live_5b0e6f1c93a2d7"
SECRET_PART = "5b0e6f1c93a2d7"
JSON_HEADERS = {"Content-Type": "application/json"}


def put_raw(control: httpx.Client, document: dict[str, Any], literal: str | None = None) -> httpx.Response:
    """PUT the fixtures as JSON text; `literal` replaces the string "LITERAL" (for numbers like 1e400)."""
    text = json.dumps(document)
    if literal is not None:
        text = text.replace('"LITERAL"', literal)
    return control.put("/fixtures", content=text.encode(), headers=JSON_HEADERS)


def with_schedule(control: httpx.Client, **schedule: Any) -> dict[str, Any]:
    document = copy.deepcopy(fixtures(control))
    [group] = [g for g in document["accountGroups"] if g["id"] == GROUP]
    group["schedule"] = {**group.get("schedule", {}), **schedule}
    return document


def group_index(document: dict[str, Any]) -> int:
    return [g["id"] for g in document["accountGroups"]].index(GROUP)


@pytest.mark.parametrize(
    ("field", "literal", "expected"),
    [
        ("minGapSeconds", "1e400", "minGapSeconds: must be at most 86400"),
        ("minGapSeconds", "-1e400", "minGapSeconds: must be at least 0"),
        ("minGapSeconds", "1e11", "minGapSeconds: must be at most 86400"),
        ("minGapSeconds", "-1", "minGapSeconds: must be at least 0"),
        ("dailyCap", '{"direct_message": 0}', "dailyCap.direct_message: must be at least 1"),
        ("dailyCap", '{"inmail": 1000000000000}', "dailyCap.inmail: must be at most 100000"),
        ("dailyCap", '{"inmail": 1e400}', "dailyCap.inmail: must be an integer"),
        ("timezone", '"Mars/Olympus_Mons"', "timezone: unknown IANA zone Mars/Olympus_Mons"),
        ("timezone", json.dumps("Europe/" + "x" * 100), "timezone: must be at most 64 characters"),
        ("days", "[]", "days: "),  # worded by the HTTP validator
        ("end", '"24:00"', "end: must be a local time HH:MM"),
    ],
)
def test_an_out_of_range_schedule_is_a_400_and_the_group_keeps_working(api, control, field, literal, expected):
    before = fixtures(control)
    document = with_schedule(control, **{field: "LITERAL"})
    error = assert_error(put_raw(control, document, literal), 400, "VALIDATION_ERROR")
    wanted = f"accountGroups.{group_index(document)}.schedule.{expected}"
    assert any(wanted in line for line in details_lines(error)), error["details"]
    assert fixtures(control) == before, "a refused document changes nothing"
    assert_accepted(post(api))
    assert_ok(control.get("/accounts/ag_acme/messages"))


@pytest.mark.parametrize(
    ("gap", "cap", "second_slot"),
    [(86400, 100000, "2026-04-30T14:00:00.000Z"), (0, 1, "2026-04-30T13:00:00.000Z")],
    ids=["largest: a day later", "smallest: the next opening"],
)
def test_the_bounds_themselves_are_accepted_and_schedule(api, control, gap, cap, second_slot):
    freeze(control, "2026-04-29T14:00:00.000Z")  # Wednesday 10:00 in New York
    document = with_schedule(control, minGapSeconds=gap, dailyCap={"direct_message": cap, "inmail": cap})
    replace_fixtures(control, document)
    first = assert_accepted(post(api))
    second = assert_accepted(post(api, {"prospectId": "prs_alan_turing", "message": "Hello again"}))
    assert first["scheduledAt"] == "2026-04-29T14:00:00.000Z"
    assert second["scheduledAt"] == second_slot


@pytest.mark.parametrize("literal", ["1e400", "-1", "31622401"])
def test_an_out_of_range_clock_advance_is_a_400_and_the_clock_still_works(control, literal):
    freeze(control, "2026-04-29T14:00:00.000Z")
    response = control.post("/clock/advance", content=f'{{"seconds": {literal}}}'.encode(), headers=JSON_HEADERS)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "seconds" in error["details"]
    assert advance(control, 60)["now"] == "2026-04-29T14:01:00.000Z"


def refused_details(control: httpx.Client, document: dict[str, Any]) -> str:
    response = put_raw(control, document)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert SECRET_PART not in response.text, f"a key value leaked: {response.text}"
    return str(error["details"])


def with_keys(control: httpx.Client, *keys: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(fixtures(control))
    document["apiKeys"] = list(keys)
    return document


def test_a_duplicate_key_is_named_by_position_and_name(control):
    ops = {"key": SECRET, "name": "ops", "permissions": ["messages:write"], "accountGroups": [GROUP]}
    details = refused_details(control, with_keys(control, ops, {**ops, "name": "ci"}))
    assert 'apiKeys.1 (name "ci"): the same key as apiKeys.0 (name "ops")' in details


@pytest.mark.parametrize(
    "key",
    [SECRET[:7], [SECRET], {"secret": SECRET}, SECRET + " x"],
    ids=["too-short", "list", "object", "with-a-space"],
)
def test_a_bad_key_is_named_without_its_value(control, key):
    details = refused_details(control, with_keys(control, {"key": key, "name": "ci"}))
    assert "apiKeys.0" in details and ".key" in details


def test_fixtures_over_the_http_validators_bounds_never_echo_a_key(control):
    """The HTTP validator words size bounds itself: jsonschema's messages quote the whole offending value."""
    many = with_keys(control, *({"key": f"{SECRET}{i:04d}", "name": f"k{i}"} for i in range(1001)))
    assert "apiKeys: must have at most 1000 items" in refused_details(control, many)
    document = copy.deepcopy(fixtures(control))
    document["conformance"] = {f"key{i}": SECRET for i in range(65)}
    assert "conformance: must have at most 64 members" in refused_details(control, document)
    named = with_keys(control, {"key": SECRET, "name": "ci", SECRET: "pasted as a member name"})
    assert "unknown property" in refused_details(control, named)


def test_an_unknown_account_group_of_a_key_does_not_show_the_key(control):
    details = refused_details(control, with_keys(control, {"key": SECRET, "name": "ci", "accountGroups": ["ag_x"]}))
    assert 'apiKeys.0 (name "ci"): unknown account group ag_x' in details


def test_a_window_inside_the_spring_forward_gap_sends_nothing_that_day(api, control):
    """Measured: 02:00-02:59 New York on 2026-03-08 gave slots at 03:00-03:40 local, outside the window."""
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    document = with_schedule(control, start="02:00", end="02:59", days=every_day, minGapSeconds=600)
    replace_fixtures(control, document)
    freeze(control, "2026-03-08T05:00:00.000Z")  # 00:00 EST, the day clocks jump from 02:00 to 03:00
    prospects = ["prs_ada_lovelace", "prs_alan_turing", "prs_ada_lovelace", "prs_alan_turing"]
    slots = [
        assert_accepted(post(api, {"prospectId": p, "message": f"m{i}"}))["scheduledAt"]
        for i, p in enumerate(prospects)
    ]
    # 02:00 EDT on Monday 2026-03-09 is 06:00Z; then one every 10 minutes inside 02:00-02:59 local.
    assert slots == [
        "2026-03-09T06:00:00.000Z",
        "2026-03-09T06:10:00.000Z",
        "2026-03-09T06:20:00.000Z",
        "2026-03-09T06:30:00.000Z",
    ]


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONARLY_MOCK_")}
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(free_port()), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("limit", ["5e-324/s", "1e400/s", "100001/s", "0.5/h"])
def test_an_unbounded_rate_limit_is_a_usage_error(limit):
    result = serve("--rate-limit", limit)
    assert result.returncode == 2, result.stderr
    assert "from 1/h to 100000/s" in result.stderr
    assert "Traceback" not in result.stderr


def write_data(tmp_path: Path, text: str, suffix: str = ".yaml") -> str:
    path = tmp_path / f"fixtures{suffix}"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        ("minGapSeconds: .inf", ".yaml", "accountGroups.0.schedule.minGapSeconds: must be a finite number"),
        ("minGapSeconds: 1.0e+11", ".yaml", "accountGroups.0.schedule.minGapSeconds: must be at most 86400"),
        ('"minGapSeconds": 1e400', ".json", "accountGroups.0.schedule.minGapSeconds: must be a finite number"),
    ],
    ids=["yaml-inf", "yaml-1e11", "json-1e400"],
)
def test_an_unbounded_data_file_is_a_usage_error(tmp_path, text, suffix, expected):
    if suffix == ".json":
        data = f'{{"accountGroups": [{{"id": "ag_one", "schedule": {{{text}}}}}], "apiKeys": []}}'
    else:
        data = f"accountGroups:\n  - id: ag_one\n    schedule:\n      {text}\napiKeys: []\n"
    result = serve("--data", write_data(tmp_path, data, suffix))
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_file_with_bad_keys_never_prints_them(tmp_path):
    data = (
        "accountGroups:\n  - id: ag_one\napiKeys:\n"
        f"  - {{key: {SECRET}, name: ops}}\n"
        f"  - {{key: {SECRET}, name: ci, accountGroups: [ag_ghost]}}\n"
        f"  - {{key: {SECRET[:7]}}}\n"
    )
    result = serve("--data", write_data(tmp_path, data))
    assert result.returncode == 2, result.stderr
    assert SECRET_PART not in result.stderr + result.stdout
    assert 'apiKeys.1 (name "ci"): the same key as apiKeys.0 (name "ops")' in result.stderr
    assert 'apiKeys.1 (name "ci"): unknown account group ag_ghost' in result.stderr
    assert "apiKeys.2.key: must be at least 8 characters" in result.stderr


def test_a_yaml_syntax_error_on_a_key_line_never_prints_it(tmp_path):
    data = f'accountGroups:\n  - id: ag_one\napiKeys:\n  - key: "{SECRET}\n    name: ci\n'
    result = serve("--data", write_data(tmp_path, data))
    assert result.returncode == 2, result.stderr
    assert SECRET_PART not in result.stderr + result.stdout
    assert "line" in result.stderr
