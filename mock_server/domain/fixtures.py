"""Demo and user-supplied fixture data: account groups, schedules, prospects, conversations and API keys.

The document shape is the `Fixtures` schema of `openapi/mock-control.yaml`, so the file format, the
control API and this loader share one definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from openapi_schema_validator import OAS30Validator

from mock_server.domain import fixture_problems
from mock_server.domain.errors import InvalidFixtures
from mock_server.domain.scheduler import SendingSchedule
from openapi import CONTROL_SPEC

DEMO_DATA = "demo.yaml"
MAX_ZONE_NAME = 64  # the schema's maxLength; the longest IANA name has 32 characters


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
    """`key` is the value itself: only ever compared with hmac.compare_digest, and left out of `repr` so that no
    traceback or debug print shows it."""

    key: str = field(repr=False)
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
    """Validate a fixture document and build the domain objects, listing every problem at once.

    No problem quotes a value from the document: API keys are in it (and in `conformance`), and these
    messages reach terminals, logs and HTTP responses. Keys are named by position and `name` instead.
    """
    too_large = fixture_problems.size_problems(document)
    if too_large:
        raise InvalidFixtures("\n".join(too_large))  # counted before anything walks the whole document
    problems = fixture_problems.non_finite_problems(document)
    problems += sorted(
        line for error in _validator().iter_errors(document) for line in fixture_problems.describe(error, document)
    )
    try:
        groups = tuple(_group(raw) for raw in document["accountGroups"])
        keys = tuple(_api_key(raw) for raw in document["apiKeys"])
        problems += _reference_problems(document, groups, keys)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # too broken to check references too: the schema problems say why
    if problems:
        raise InvalidFixtures("\n".join(dict.fromkeys(problems)))
    return Fixtures(groups, keys, dict(document.get("conformance") or {}), document)


def load_fixtures(path: Path | None = None) -> Fixtures:
    """Read the fixture file, or the demo data shipped with the package when no path is given.

    A JSON document is read as JSON: YAML 1.1 reads `1e400` or `1e3` (no dot) as strings, and would
    report a number as "must be a number".
    """
    if path is None:
        text = resources.files("mock_server.data").joinpath(DEMO_DATA).read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidFixtures(f"fixtures: {path} is not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise InvalidFixtures(f"fixtures: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    return parse_fixtures(_document(text))


def _document(text: str) -> Any:
    """The parsed text; a parse error names the line and column, never the text there (it may be a key).

    Text that starts with `{` is tried as JSON first, then as YAML (a YAML flow mapping starts so too).
    """
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, parse_constant=fixture_problems.reject_constant)
        except json.JSONDecodeError:
            pass
        except (ValueError, RecursionError) as exc:
            raise InvalidFixtures(f"fixtures: not valid JSON ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise InvalidFixtures(f"fixtures: not valid YAML or JSON ({fixture_problems.yaml_problem(exc)})") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise InvalidFixtures(f"fixtures: not valid YAML or JSON ({type(exc).__name__})") from None


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


def _reference_problems(document: Any, groups: tuple[AccountGroup, ...], keys: tuple[ApiKey, ...]) -> list[str]:
    """Rules the schema cannot state: unique ids and keys, known groups, valid zones and windows."""
    problems: list[str] = []
    _unique(problems, "accountGroups", [g.id for g in groups])
    _unique(problems, "prospects", [p.id for g in groups for p in g.prospects])
    _unique(problems, "conversations", [c for g in groups for p in g.prospects for c in p.conversations])
    first_with: dict[str, int] = {}
    for index, key in enumerate(keys):
        earlier = first_with.setdefault(key.key, index)
        if earlier != index:
            problems.append(
                f"{fixture_problems.key_label(document, index)}: the same key as "
                f"{fixture_problems.key_label(document, earlier)} (each key must be unique)"
            )
    known = {g.id for g in groups}
    for index, key in enumerate(keys):
        for group_id in sorted(key.account_groups - known):
            problems.append(f"{fixture_problems.key_label(document, index)}: unknown account group {group_id}")
    for index, group in enumerate(groups):
        problems.extend(_schedule_problems(f"accountGroups.{index}.schedule", group.schedule))
    return problems


def _unique(problems: list[str], what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            problems.append(f"{what}: duplicate id {item}")
        seen.add(item)


def _schedule_problems(where: str, schedule: SendingSchedule) -> list[str]:
    problems = []
    try:
        schedule.zone  # noqa: B018 - resolving the zone is the check
    except Exception:
        name = schedule.timezone
        shown = name if len(name) <= MAX_ZONE_NAME and name.isprintable() else "(not shown: too long or unprintable)"
        problems.append(f"{where}.timezone: unknown IANA zone {shown}")
    if schedule.start >= schedule.end:
        problems.append(f"{where}: start must be before end")
    return problems
