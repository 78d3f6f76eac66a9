"""Demo and user-supplied fixture data: account groups, schedules, prospects, conversations and API keys.

The document shape is the `Fixtures` schema of `openapi/mock-control.yaml`, so the file format, the
control API and this loader share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from openapi_schema_validator import OAS30Validator

from mock_server.domain.errors import InvalidFixtures
from mock_server.domain.scheduler import SendingSchedule
from openapi import CONTROL_SPEC

DEMO_DATA = "demo.yaml"


@dataclass(frozen=True)
class Prospect:
    id: str
    name: str
    connected: bool
    conversations: tuple[str, ...]
    inmail_eligible: bool = True


@dataclass(frozen=True)
class AccountGroup:
    id: str
    name: str
    schedule: SendingSchedule
    prospects: tuple[Prospect, ...]


@dataclass(frozen=True)
class ApiKey:
    key: str
    name: str
    permissions: frozenset[str]
    account_groups: frozenset[str]
    revoked: bool = False


@dataclass(frozen=True)
class Fixtures:
    account_groups: tuple[AccountGroup, ...]
    api_keys: tuple[ApiKey, ...]
    conformance: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict, compare=False)


@cache
def _validator() -> Draft4Validator:
    spec = yaml.safe_load(CONTROL_SPEC.read_text(encoding="utf-8"))
    schema = dict(spec["components"]["schemas"]["Fixtures"])
    schema["components"] = spec["components"]
    return OAS30Validator(schema)


def parse_fixtures(document: Any) -> Fixtures:
    """Validate a fixture document and build the domain objects, listing every problem at once."""
    problems = sorted(
        f"{'.'.join(str(p) for p in error.absolute_path) or 'fixtures'}: {error.message}"
        for error in _validator().iter_errors(document)
    )
    try:
        groups = tuple(_group(raw) for raw in document["accountGroups"])
        keys = tuple(_api_key(raw) for raw in document["apiKeys"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidFixtures("\n".join(problems)) from None  # too broken to check references too
    problems += _reference_problems(groups, keys)
    if problems:
        raise InvalidFixtures("\n".join(problems))
    return Fixtures(groups, keys, dict(document.get("conformance") or {}), document)


def load_fixtures(path: Path | None = None) -> Fixtures:
    """Read the fixture file, or the demo data shipped with the package when no path is given."""
    if path is None:
        text = resources.files("mock_server.data").joinpath(DEMO_DATA).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidFixtures(f"fixtures: not valid YAML or JSON ({exc})") from exc
    return parse_fixtures(document)


def schedule_from_document(raw: dict[str, Any]) -> SendingSchedule:
    defaults = SendingSchedule()
    caps = {**dict(defaults.daily_cap), **raw.get("dailyCap", {})}
    return SendingSchedule(
        timezone=raw.get("timezone", defaults.timezone),
        days=tuple(raw.get("days", defaults.days)),
        start=time.fromisoformat(raw.get("start", "09:00")),
        end=time.fromisoformat(raw.get("end", "18:00")),
        daily_cap=tuple(sorted(caps.items())),
        min_gap_seconds=float(raw.get("minGapSeconds", defaults.min_gap_seconds)),
    )


def _group(raw: dict[str, Any]) -> AccountGroup:
    prospects = tuple(
        Prospect(
            id=p["id"],
            name=p.get("name", p["id"]),
            connected=bool(p.get("connected", False)),
            conversations=tuple(p.get("conversations", ())),
            inmail_eligible=bool(p.get("inmailEligible", True)),
        )
        for p in raw.get("prospects", ())
    )
    return AccountGroup(
        raw["id"], raw.get("name", raw["id"]), schedule_from_document(raw.get("schedule", {})), prospects
    )


def _api_key(raw: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key=raw["key"],
        name=raw.get("name", "unnamed key"),
        permissions=frozenset(raw.get("permissions", ())),
        account_groups=frozenset(raw.get("accountGroups", ())),
        revoked=bool(raw.get("revoked", False)),
    )


def _reference_problems(groups: tuple[AccountGroup, ...], keys: tuple[ApiKey, ...]) -> list[str]:
    """Rules the schema cannot state: unique ids, known groups, valid zones and windows."""
    problems: list[str] = []
    _unique(problems, "accountGroups", [g.id for g in groups])
    _unique(problems, "prospects", [p.id for g in groups for p in g.prospects])
    _unique(problems, "conversations", [c for g in groups for p in g.prospects for c in p.conversations])
    _unique(problems, "apiKeys", [k.key for k in keys])
    known = {g.id for g in groups}
    for key in keys:
        for group_id in sorted(key.account_groups - known):
            problems.append(f"apiKeys.{key.name}: unknown account group {group_id}")
    for group in groups:
        problems.extend(_schedule_problems(group))
    return problems


def _unique(problems: list[str], what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            problems.append(f"{what}: duplicate id {item}")
        seen.add(item)


def _schedule_problems(group: AccountGroup) -> list[str]:
    schedule = group.schedule
    problems = []
    try:
        schedule.zone  # noqa: B018 - resolving the zone is the check
    except Exception:
        problems.append(f"accountGroups.{group.id}.schedule.timezone: unknown IANA zone {schedule.timezone}")
    if schedule.start >= schedule.end:
        problems.append(f"accountGroups.{group.id}.schedule: start must be before end")
    return problems
