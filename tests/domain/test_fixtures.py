"""fixtures: the demo data, schedule defaults, and every problem of a bad document listed at once."""

from __future__ import annotations

from datetime import time

import pytest

from mock_server.domain.errors import InvalidFixtures
from mock_server.domain.fixtures import load_fixtures, parse_fixtures, schedule_from_document


def valid_document():
    return {
        "accountGroups": [
            {
                "id": "ag_one",
                "schedule": {"timezone": "Europe/Paris"},
                "prospects": [{"id": "prs_one", "connected": True, "conversations": ["cnv_one"]}],
            }
        ],
        "apiKeys": [{"key": "sk_test_one_key", "permissions": ["messages:write"], "accountGroups": ["ag_one"]}],
    }


def problems_of(document) -> list[str]:
    with pytest.raises(InvalidFixtures) as raised:
        parse_fixtures(document)
    return raised.value.details.splitlines()


def test_the_demo_data_loads():
    fixtures = load_fixtures()
    assert [g.id for g in fixtures.account_groups] == ["ag_acme", "ag_globex"]
    assert {k.key for k in fixtures.api_keys} >= {"sk_test_acme_writer", "sk_test_revoked"}
    assert fixtures.conformance["account_group_id"] == "ag_acme"


def test_the_demo_data_keeps_prospect_state():
    acme = load_fixtures().account_groups[0]
    prospects = {p.id: p for p in acme.prospects}
    assert prospects["prs_ada_lovelace"].conversations == ("cnv_ada_lovelace",)
    assert prospects["prs_edsger_dijkstra"].inmail_eligible is False
    assert prospects["prs_grace_hopper"].inmail_eligible is True, "inmailEligible defaults to true"
    assert acme.schedule.timezone == "America/New_York"


def test_a_minimal_document_parses():
    fixtures = parse_fixtures(valid_document())
    assert fixtures.account_groups[0].prospects[0].name == "prs_one", "a missing name defaults to the id"
    assert fixtures.api_keys[0].revoked is False


def test_an_empty_schedule_gets_the_contracts_defaults():
    schedule = schedule_from_document({})
    assert schedule.days == ("mon", "tue", "wed", "thu", "fri")
    assert (schedule.start, schedule.end) == (time(9), time(18))
    assert (schedule.cap("direct_message"), schedule.cap("inmail"), schedule.min_gap_seconds) == (100, 25, 60)


def test_a_partial_daily_cap_keeps_the_other_channels_default():
    schedule = schedule_from_document({"dailyCap": {"inmail": 3}})
    assert (schedule.cap("direct_message"), schedule.cap("inmail")) == (100, 3)


def test_every_schema_problem_is_listed_at_once():
    document = valid_document()
    document["accountGroups"].append({"name": "no id"})
    document["accountGroups"][0]["schedule"]["start"] = "9am"
    document["apiKeys"][0]["colour"] = "blue"
    details = "\n".join(problems_of(document))
    assert "accountGroups.1.id: required" in details
    assert "accountGroups.0.schedule.start" in details
    assert "colour" in details


def test_every_reference_problem_is_listed_at_once():
    document = valid_document()
    group = document["accountGroups"][0]
    group["schedule"] = {"timezone": "Mars/Olympus_Mons", "start": "18:00", "end": "09:00"}
    document["accountGroups"].append({"id": "ag_one"})
    group["prospects"].append({"id": "prs_one"})
    document["apiKeys"][0]["accountGroups"] = ["ag_one", "ag_ghost"]
    details = problems_of(document)
    expected = [
        "accountGroups: duplicate id ag_one",
        "prospects: duplicate id prs_one",
        "unknown account group ag_ghost",
        "unknown IANA zone Mars/Olympus_Mons",
        "start must be before end",
    ]
    for fragment in expected:
        assert any(fragment in line for line in details), f"{fragment!r} not in {details}"


def test_a_window_that_opens_when_it_closes_is_refused():
    document = valid_document()
    document["accountGroups"][0]["schedule"].update(start="09:00", end="09:00")
    assert any("start must be before end" in line for line in problems_of(document))


def test_a_document_that_is_not_an_object_is_refused():
    assert problems_of(["not", "fixtures"])


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("accountGroups: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidFixtures, match="not valid YAML"):
        load_fixtures(path)


def test_schema_and_reference_problems_are_listed_together():
    document = valid_document()
    document["apiKeys"][0]["colour"] = "blue"  # a schema problem
    document["accountGroups"].append({"id": "ag_one"})  # a reference problem
    details = "\n".join(problems_of(document))
    assert "colour" in details
    assert "duplicate id ag_one" in details


# A key value no problem message may ever show, in whole or in part.
SECRET = "sk_live_9f3c2a71d4e8b6"
SECRET_PART = "9f3c2a71d4e8b6"


def with_keys(*keys) -> dict:
    document = valid_document()
    document["apiKeys"] = list(keys)
    return document


def assert_secret_not_shown(details: list[str]) -> None:
    text = "\n".join(details)
    assert SECRET_PART not in text, f"a key value leaked into: {text}"


def test_a_duplicate_key_is_named_by_position_and_name_never_by_value():
    first = {"key": SECRET, "name": "ops", "accountGroups": ["ag_one"]}
    details = problems_of(with_keys(first, {"key": "sk_test_other_key"}, {**first, "name": "ci"}))
    assert_secret_not_shown(details)
    assert 'apiKeys.2 (name "ci"): the same key as apiKeys.0 (name "ops") (each key must be unique)' in details


def test_a_too_short_key_is_named_without_its_value():
    details = problems_of(with_keys({"key": "sk_9f3", "name": "ci"}))
    assert details == ['apiKeys.0 (name "ci").key: must be at least 8 characters']


@pytest.mark.parametrize(
    "value",
    [[SECRET], {"value": SECRET}, {SECRET: True}, 9_133_271_448],
    ids=["list", "object", "object-keyed-by-the-secret", "number"],
)
def test_a_key_of_the_wrong_type_is_named_without_its_value(value):
    details = problems_of(with_keys({"key": value}))
    assert_secret_not_shown(details)
    assert "9133271448" not in "\n".join(details)
    assert "apiKeys.0.key: must be a string" in details


def test_a_key_with_a_space_is_refused_without_its_value():
    details = problems_of(with_keys({"key": "sk live 9f3c2a71d4e8b6", "name": "ci"}))
    assert_secret_not_shown(details)
    assert details == [
        'apiKeys.0 (name "ci").key: must be printable ASCII without spaces (it is sent as a Bearer token)'
    ]


def test_a_key_written_as_a_property_name_is_not_shown():
    details = problems_of(with_keys({"key": "sk_test_one_key", SECRET: {"name": "ci"}}))
    assert_secret_not_shown(details)
    assert details == ["apiKeys.0: an unknown property (its name is not shown: it may be a key)"]


def test_an_unknown_account_group_names_the_key_by_position():
    details = problems_of(with_keys({"key": SECRET, "accountGroups": ["ag_one", "ag_ghost"]}))
    assert_secret_not_shown(details)
    assert details == ["apiKeys.0: unknown account group ag_ghost"]


def test_a_conformance_value_of_the_wrong_type_is_not_shown():
    document = valid_document()
    document["conformance"] = {"api_key": [SECRET]}
    details = problems_of(document)
    assert_secret_not_shown(details)
    assert details == ["conformance.api_key: must be a string"]


def test_a_yaml_error_names_the_line_not_its_text(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(f'accountGroups: [{{id: ag_one}}]\napiKeys:\n  - key: "{SECRET}\n    name: ci\n', encoding="utf-8")
    with pytest.raises(InvalidFixtures) as raised:
        load_fixtures(path)
    assert_secret_not_shown([raised.value.details])
    assert "line" in raised.value.details and "column" in raised.value.details


def test_a_json_error_names_the_line_not_its_text(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(f'{{"accountGroups": [{{"id": "ag_one"}}], "apiKeys": [{{"key": "{SECRET}" "x"}}]}}')
    with pytest.raises(InvalidFixtures) as raised:
        load_fixtures(path)
    assert_secret_not_shown([raised.value.details])
    assert "not valid YAML or JSON" in raised.value.details and "line 1 column" in raised.value.details


def test_a_yaml_flow_mapping_is_not_mistaken_for_broken_json(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("{accountGroups: [{id: ag_one}], apiKeys: []}", encoding="utf-8")
    assert load_fixtures(path).account_groups[0].id == "ag_one"


def schedule_problems(**schedule) -> list[str]:
    document = valid_document()
    document["accountGroups"][0]["schedule"] = schedule
    return problems_of(document)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"minGapSeconds": 1e11}, "accountGroups.0.schedule.minGapSeconds: must be at most 86400"),
        ({"minGapSeconds": -1}, "accountGroups.0.schedule.minGapSeconds: must be at least 0"),
        ({"minGapSeconds": float("inf")}, "accountGroups.0.schedule.minGapSeconds: must be a finite number"),
        ({"minGapSeconds": float("nan")}, "accountGroups.0.schedule.minGapSeconds: must be a finite number"),
        ({"minGapSeconds": "60"}, "accountGroups.0.schedule.minGapSeconds: must be a number"),
        ({"dailyCap": {"inmail": 0}}, "accountGroups.0.schedule.dailyCap.inmail: must be at least 1"),
        ({"dailyCap": {"direct_message": 10**12}}, "schedule.dailyCap.direct_message: must be at most 100000"),
        ({"dailyCap": {"inmail": 2.5}}, "accountGroups.0.schedule.dailyCap.inmail: must be an integer"),
        ({"days": []}, "accountGroups.0.schedule.days: must have at least 1 item"),
        ({"timezone": "Europe/" + "x" * 80}, "accountGroups.0.schedule.timezone: must be at most 64 characters"),
        ({"timezone": "Mars/Olympus_Mons"}, "accountGroups.0.schedule.timezone: unknown IANA zone Mars/Olympus_Mons"),
        ({"timezone": "../../etc/passwd"}, "accountGroups.0.schedule.timezone: unknown IANA zone ../../etc/passwd"),
        ({"end": "24:00"}, "accountGroups.0.schedule.end: must be a local time HH:MM, 00:00 to 23:59"),
    ],
)
def test_every_schedule_value_is_bounded(schedule, expected):
    assert any(expected in line for line in schedule_problems(**schedule)), schedule_problems(**schedule)


@pytest.mark.parametrize("gap", [0, 86400, 0.5])
def test_the_bounds_themselves_are_allowed(gap):
    document = valid_document()
    document["accountGroups"][0]["schedule"] = {"minGapSeconds": gap, "dailyCap": {"inmail": 100000}}
    assert parse_fixtures(document).account_groups[0].schedule.min_gap_seconds == gap


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("minGapSeconds: .inf", "minGapSeconds: must be a finite number"),
        ("minGapSeconds: -.inf", "minGapSeconds: must be a finite number"),
        ("minGapSeconds: .nan", "minGapSeconds: must be a finite number"),
        ("minGapSeconds: 1.0e+11", "minGapSeconds: must be at most 86400"),
    ],
)
def test_a_yaml_file_with_an_unbounded_number_is_refused(tmp_path, text, expected):
    path = tmp_path / "fixtures.yaml"
    path.write_text(f"accountGroups:\n  - id: ag_one\n    schedule:\n      {text}\napiKeys: []\n", encoding="utf-8")
    with pytest.raises(InvalidFixtures) as raised:
        load_fixtures(path)
    assert f"accountGroups.0.schedule.{expected}" in raised.value.details


def test_a_json_file_is_read_as_json(tmp_path):
    path = tmp_path / "fixtures.json"
    path.write_text('{"accountGroups": [{"id": "ag_one", "schedule": {"minGapSeconds": 1e3}}], "apiKeys": []}')
    assert load_fixtures(path).account_groups[0].schedule.min_gap_seconds == 1000, "YAML 1.1 reads 1e3 as a string"
    path.write_text('{"accountGroups": [{"id": "ag_one", "schedule": {"minGapSeconds": 1e400}}], "apiKeys": []}')
    with pytest.raises(InvalidFixtures, match=r"accountGroups\.0\.schedule\.minGapSeconds: must be a finite number"):
        load_fixtures(path)
    path.write_text('{"accountGroups": [{"id": "ag_one", "schedule": {"minGapSeconds": NaN}}], "apiKeys": []}')
    with pytest.raises(InvalidFixtures, match="NaN is not a JSON number"):
        load_fixtures(path)


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("accountGroups", 0, "id"), "g" * 129, "accountGroups.0.id: must be at most 128 characters"),
        (("accountGroups", 0, "name"), "n" * 201, "accountGroups.0.name: must be at most 200 characters"),
        (("accountGroups", 0, "prospects", 0, "id"), "p" * 129, "prospects.0.id: must be at most 128 characters"),
        (("apiKeys", 0, "key"), "k" * 257, "apiKeys.0.key: must be at most 256 characters"),
        (("apiKeys", 0, "name"), "n" * 201, "must be at most 200 characters"),
        (("conformance",), {f"k{i}": "v" for i in range(65)}, "conformance: must have at most 64 members"),
    ],
)
def test_every_string_and_list_is_bounded(where, value, expected):
    document = valid_document()
    target = document
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    details = problems_of(document)
    assert any(expected in line for line in details), details


def test_the_number_of_prospects_is_bounded():
    document = valid_document()
    document["accountGroups"][0]["prospects"] = [{"id": f"prs_{n}"} for n in range(10001)]
    assert "accountGroups.0.prospects: must have at most 10000 items" in problems_of(document)


def test_a_file_that_is_not_utf8_is_one_clear_problem(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"accountGroups: [{id: caf\xe9}]\n")
    with pytest.raises(InvalidFixtures, match="is not UTF-8 text"):
        load_fixtures(path)


@pytest.mark.parametrize("key", ["sk_test_one_key\n", "sk_test_one\tkey", "sk_test_ключ_one"])
def test_a_key_that_cannot_be_sent_as_a_bearer_token_is_refused(key):
    details = problems_of(with_keys({"key": key}))
    assert details == ["apiKeys.0.key: must be printable ASCII without spaces (it is sent as a Bearer token)"]


def test_the_number_of_prospects_in_all_groups_is_bounded():
    document = valid_document()
    prospects = [{"id": f"prs_{n}"} for n in range(10000)]
    document["accountGroups"] = [{"id": f"ag_{g}", "prospects": prospects} for g in range(11)]
    assert problems_of(document) == ["accountGroups: 110000 prospects in all; at most 100000"]


def test_an_unprintable_zone_name_is_not_echoed():
    details = schedule_problems(timezone="Europe/Paris\nX-Injected: 1")
    assert "accountGroups.0.schedule.timezone: unknown IANA zone (not shown: too long or unprintable)" in details
    assert not any("X-Injected" in line for line in details)
