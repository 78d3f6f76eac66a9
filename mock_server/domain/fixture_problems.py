"""Fixture problems in plain words that never quote a value from the document.

A fixture document holds API keys (under `apiKeys` and often under `conformance`), and its problems are
printed at start-up, logged and returned by `PUT /__mock/fixtures`. jsonschema's own messages quote the
offending value ("'sk_live_...' is too short"), so every problem here is worded from the schema alone, and
an API key is named by its position and `name`: `apiKeys.3 (name "ci")`.
"""

from __future__ import annotations

import math
import re
import typing as t

import yaml
from jsonschema import ValidationError

MAX_PROSPECTS = 100_000  # in all account groups together
_MAX_SHOWN_NAME = 60
# An unknown property of an API key is named only when it looks like a property, not like a key value
# someone wrote as a mapping key (`- sk_live_abc: ...`).
_PROPERTY_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")


def key_label(document: t.Any, index: int) -> str:
    """`apiKeys.3 (name "ci")`, or `apiKeys.3` when the entry has no usable name."""
    label = f"apiKeys.{index}"
    try:
        name = document["apiKeys"][index].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        return label
    if not isinstance(name, str) or not name:
        return label
    shown = name if len(name) <= _MAX_SHOWN_NAME else name[: _MAX_SHOWN_NAME - 1] + "…"
    return f'{label} (name "{shown}")'


def path_label(path: t.Sequence[str | int], document: t.Any) -> str:
    """The dotted path of a value, with the key's name after `apiKeys.N` when the path is inside one."""
    if len(path) >= 2 and path[0] == "apiKeys" and isinstance(path[1], int):
        return ".".join([key_label(document, path[1]), *(str(p) for p in path[2:])])
    return ".".join(str(p) for p in path) or "fixtures"


def size_problems(document: t.Any) -> list[str]:
    """The total number of prospects, which no schema keyword can bound (10000 per group, 1000 groups).

    Checked first and cheaply: a YAML file can repeat one large list by alias in every group.
    """
    groups = document.get("accountGroups") if isinstance(document, dict) else None
    if not isinstance(groups, list):
        return []
    total = sum(len(g["prospects"]) for g in groups if isinstance(g, dict) and isinstance(g.get("prospects"), list))
    if total <= MAX_PROSPECTS:
        return []
    return [f"accountGroups: {total} prospects in all; at most {MAX_PROSPECTS}"]


def non_finite_problems(document: t.Any) -> list[str]:
    """YAML `.inf`/`.nan` and JSON `1e400` parse to floats no bound holds (NaN passes every comparison).

    Only the schedule holds numbers; a float anywhere else is already a schema problem ("must be a string").
    """
    groups = document.get("accountGroups") if isinstance(document, dict) else None
    problems: list[str] = []
    for index, group in enumerate(groups if isinstance(groups, list) else []):
        schedule = group.get("schedule") if isinstance(group, dict) else None
        if not isinstance(schedule, dict):
            continue
        caps = schedule.get("dailyCap")
        values = [("minGapSeconds", schedule.get("minGapSeconds"))]
        values += [(f"dailyCap.{name}", value) for name, value in caps.items()] if isinstance(caps, dict) else []
        problems += [
            f"accountGroups.{index}.schedule.{name}: must be a finite number"
            for name, value in values
            if isinstance(value, float) and not math.isfinite(value)
        ]
    return problems


def describe(error: ValidationError, document: t.Any) -> list[str]:
    """One jsonschema error as `path: what is wrong` lines, from the schema's words, never the value's."""
    path = list(error.absolute_path)
    where = path_label(path, document)
    kind = error.validator if isinstance(error.validator, str) else ""
    expected = error.validator_value
    schema: t.Mapping[str, t.Any] = error.schema if isinstance(error.schema, t.Mapping) else {}
    instance = error.instance
    if kind == "required" and isinstance(instance, dict) and isinstance(expected, list):
        missing = [name for name in expected if name not in instance]
        return [f"{_join(where, name)}: required" for name in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        unknown = [str(name) for name in instance if name not in known]
        inside_key = bool(path) and path[0] == "apiKeys"
        return [
            f"{_join(where, name)}: unknown property"
            if not inside_key or _PROPERTY_LIKE.fullmatch(name)
            else f"{where}: an unknown property (its name is not shown: it may be a key)"
            for name in unknown
        ]
    return [f"{where}: {_plain(kind, expected, schema)}"]


def _join(where: str, name: str) -> str:
    return name if where == "fixtures" else f"{where}.{name}"


def _plain(kind: str, expected: t.Any, schema: t.Mapping[str, t.Any]) -> str:
    articles = {"object": "an object", "array": "an array", "integer": "an integer (a whole number)"}
    plural = "" if expected == 1 else "s"
    words: dict[str, t.Callable[[], str]] = {
        "type": lambda: f"must be {articles.get(str(expected), f'a {expected}')}",
        "minLength": lambda: f"must be at least {expected} character{plural}",
        "maxLength": lambda: f"must be at most {expected} character{plural}",
        "minItems": lambda: f"must have at least {expected} item{plural}",
        "maxItems": lambda: f"must have at most {expected} item{plural}",
        "maxProperties": lambda: f"must have at most {expected} member{plural}",
        "minProperties": lambda: f"must have at least {expected} member{plural}",
        "uniqueItems": lambda: "must not list an item twice",
        "minimum": lambda: f"must be at least {expected}",
        "maximum": lambda: f"must be at most {expected}",
        "enum": lambda: "must be one of: " + ", ".join(str(v) for v in expected),
        "pattern": lambda: str(schema.get("x-pattern-message") or f"must match {expected}"),
    }
    return words.get(kind, lambda: f"does not satisfy the schema's {kind or 'rules'}")()


def reject_constant(name: str) -> t.NoReturn:
    """`NaN`, `Infinity` and `-Infinity` are not JSON, although Python's parser accepts them."""
    raise ValueError(f"{name} is not a JSON number")


def yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's own message shows the offending line of the file, which may hold a key: position only."""
    mark = exc.problem_mark or exc.context_mark
    words = " ".join(part for part in (exc.context, exc.problem) if part) or "cannot be parsed"
    return words if mark is None else f"{words} at line {mark.line + 1} column {mark.column + 1}"
