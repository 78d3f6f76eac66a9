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
    assert "'id' is a required property" in details
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
