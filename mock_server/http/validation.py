"""Request validation that reports every problem at once, in plain words, inside the Sonarly envelope.

Connexion's stock validators stop at the first error and answer problem+json; these replace them
through `validator_map`. Parameter problems wait in the request's own scope (`extensions`, which every
copy of the scope shares) until the body has been checked too, so one 400 lists both; nothing outlives the
request. Compiled validators live in one bounded cache that holds the schemas it compiled, so an id reused
after garbage collection can never bring back a stale validator.
"""

from __future__ import annotations

import json
import re
import typing as t
from collections import OrderedDict
from dataclasses import dataclass

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.types import Scope

from mock_server.domain.errors import MockError, validation_error

PROBLEMS_KEY = "sonarly.problems"


def _pending(scope: Scope) -> list[str]:
    """The parameter problems found so far in this request (one list per request, in its scope)."""
    problems: list[str] = scope.setdefault("extensions", {}).setdefault(PROBLEMS_KEY, [])
    return problems


def take_pending_problems(scope: Scope) -> list[str]:
    """Parameter problems found earlier in this request, cleared once read."""
    problems = list(_pending(scope))
    _pending(scope).clear()
    return problems


def problems_error(scope: Scope, problems: list[str]) -> MockError:
    """One 400 naming the parameter problems found earlier in this request and `problems`, once each."""
    return validation_error("\n".join(dict.fromkeys(take_pending_problems(scope) + problems)))


def raise_problems(scope: Scope, problems: list[str]) -> t.NoReturn:
    raise problems_error(scope, problems)


class SchemaValidators:
    """Compiled validators per schema: jsonschema-rs decides "valid" in about a microsecond, where the Python
    validator needs tens; the Python one still words every problem of an invalid request.
    tests/test_fast_validation.py holds the two to the same verdicts.

    Connexion hands the same schema object to every request of an operation, so entries are keyed by
    `id(schema)`; each entry keeps its schema alive and is checked by identity, and the cache is bounded (first in,
    first out: a hit costs a lookup and nothing more), so apps built and dropped (tests do) neither leak
    nor get a stale validator.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[int, tuple[t.Any, Draft4Validator | None, jsonschema_rs.Validator | None]] = (
            OrderedDict()
        )

    def python(self, schema: dict[str, t.Any]) -> Draft4Validator:
        _, python, fast = self._entry(schema)
        if python is None:
            python = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
            self._entries[id(schema)] = (schema, python, fast)
        return python

    def fast(self, schema: dict[str, t.Any]) -> jsonschema_rs.Validator:
        _, python, fast = self._entry(schema)
        if fast is None:
            fast = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
            self._entries[id(schema)] = (schema, python, fast)
        return fast

    def _entry(self, schema: t.Any) -> tuple[t.Any, Draft4Validator | None, jsonschema_rs.Validator | None]:
        entry = self._entries.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, None, None)
            self._entries[id(schema)] = entry
            self._entries.move_to_end(id(schema))
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return entry


VALIDATORS = SchemaValidators()


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed keyword, whichever validator found it: all that the words of a problem are made of."""

    path: tuple[str | int, ...]  # where in the instance
    keyword: str | None
    value: t.Any  # the keyword's value in the schema
    schema: t.Mapping[str, t.Any]  # the (sub)schema that holds the keyword
    instance: t.Any  # the value that failed it
    missing: str | None = None  # `required`: the member that is missing


def describe(error: ValidationError, root: str = "body") -> list[str]:
    """Turn one jsonschema error into `field: what is wrong` lines a person can act on."""
    kind = error.validator if isinstance(error.validator, str) else None
    missing = None
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else str(error.validator_value)
    schema = error.schema if isinstance(error.schema, t.Mapping) else {}
    return worded(
        Failure(tuple(error.absolute_path), kind, error.validator_value, schema, error.instance, missing), root
    )


def worded(failure: Failure, root: str = "body") -> list[str]:
    """The lines of one failed keyword (one per unknown member, else one)."""
    path = ".".join(str(p) for p in failure.path) or root
    kind, schema = failure.keyword, failure.schema
    if kind == "required":
        return [f"{_join(path, str(failure.missing), root)}: required"]
    if kind == "additionalProperties" and isinstance(failure.instance, dict):
        known = set(schema.get("properties", {}))
        unknown = [name for name in failure.instance if name not in known]
        return [f"{_join(path, _shown_name(name), root)}: unknown property" for name in unknown]
    if kind == "anyOf" and schema.get("title"):
        return [schema["title"]]
    if schema.get("title") and kind in ("pattern", "minLength", "maxLength"):
        return [f"{path}: {schema['title']}"]
    return [f"{path}: {_plain(kind, failure.value, schema)}"]


# A member name is echoed only when it looks like a property name: a client that writes a secret as a member
# name (`{"sk_live_...": 1}`, an API key pasted into fixtures as a mapping key) must not see it printed back.
_PROPERTY_LIKE = re.compile(r"(?!sk_)[A-Za-z][A-Za-z0-9_]{0,63}")


def _shown_name(name: str) -> str:
    return name if _PROPERTY_LIKE.fullmatch(name) else "(a member whose name is not shown)"


def _join(path: str, name: str, root: str) -> str:
    return name if path == root else f"{path}.{name}"


def _plain(kind: str | None, value: t.Any, schema: t.Mapping[str, t.Any]) -> str:
    articles = {"object": "a JSON object", "array": "an array", "integer": "an integer"}
    words: dict[str, t.Callable[[], str]] = {
        "type": lambda: f"must be {articles.get(str(value), f'a {value}')}",
        "minLength": lambda: f"must be at least {value} character{'s' if value != 1 else ''}",
        "maxLength": lambda: f"must be at most {value} characters",
        "pattern": lambda: schema.get("x-pattern-message") or f"must match {value}",
        "enum": lambda: "must be one of: " + ", ".join(json.dumps(v) for v in value),
        "minimum": lambda: f"must be at least {value}",
        "maximum": lambda: f"must be at most {value}",
        "minItems": lambda: f"must have at least {value} item{'s' if value != 1 else ''}",
        "maxItems": lambda: f"must have at most {value} items",
        "minProperties": lambda: f"must have at least {value} member{'s' if value != 1 else ''}",
        "maxProperties": lambda: f"must have at most {value} members",
        "uniqueItems": lambda: "must not list an item twice",
        "format": lambda: f"must be a valid {value}",
        "anyOf": lambda: "does not match any of the allowed forms",
        "oneOf": lambda: "must match exactly one of the allowed forms",
        "not": lambda: "is not allowed here",
    }
    # jsonschema's own message quotes the offending value, which may be a secret: never fall back to it.
    return words.get(str(kind), lambda: f"does not satisfy the rule {kind}")()


def body_problems(schema: dict[str, t.Any], body: t.Any) -> list[str]:
    """Every problem of a parsed body, one line each in the 400's words; none when the schema accepts it.
    The compiled validator decides "valid" in a microsecond; the Python one words the problems of the rest."""
    if body is None:
        return ["body: required (a JSON object)"]
    if VALIDATORS.fast(schema).is_valid(body):
        return []
    return [line for error in VALIDATORS.python(schema).iter_errors(body) for line in describe(error)]


def compiled_body_problems(schema: dict[str, t.Any], body: t.Any) -> list[str]:
    """`body_problems`, the same lines in the same order, worded from the compiled validator's errors.

    Why: the Python validator took 60% of a 400's time (its conditional rules evaluate every branch), which made
    a 400 cost 2.1x a 202 (bench/run.py --error-paths). The compiled validator finds the same failed keywords in
    microseconds; each is worded by the same `worded`, and they are put in the order the Python validator walks
    the schema (its keys' order, depth first). A failure this cannot place or word alike (a path through a keyword
    it does not know, a `format`) leaves the whole body to `body_problems`. For the contract's request body,
    tests/test_fast_validation.py holds the two to the same lines on generated bodies."""
    if body is None:
        return body_problems(schema, body)
    validator = VALIDATORS.fast(schema)
    if validator.is_valid(body):
        return []
    found: list[tuple[tuple[int, ...], list[str]]] = []
    for error in validator.iter_errors(body):
        keyword, located = error.schema_path[-1] if error.schema_path else None, _located(schema, error.schema_path)
        if located is None or not isinstance(keyword, str) or keyword == "format":
            return body_problems(schema, body)
        order, holder = located
        missing = getattr(error.kind, "property", None) if keyword == "required" else None
        where = tuple(error.instance_path)
        failure = Failure(where, keyword, holder[keyword], holder, _at(body, where), missing)
        found.append((order, worded(failure)))
    found.sort(key=lambda item: item[0])  # stable: two failures of one keyword keep the validator's order
    return [line for _, lines in found for line in lines]


def _at(document: t.Any, path: tuple[str | int, ...]) -> t.Any:
    """The value at `path` in the body as parsed: the compiled validator's own copy of it has its members sorted,
    and an unknown member is named in the order the client wrote it."""
    for step in path:
        document = document[step]
    return document


def _located(schema: t.Any, schema_path: t.Sequence[str | int]) -> tuple[tuple[int, ...], t.Mapping[str, t.Any]] | None:
    """The position of a failed keyword in the Python validator's walk (each step's index among its siblings)
    and the subschema that holds it; None for a path this does not follow."""
    order: list[int] = []
    node, holder = schema, schema
    for step in schema_path:
        if isinstance(node, dict) and isinstance(step, str) and step in node:
            order.append(list(node).index(step))
            holder, node = node, node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            order.append(step)
            node = node[step]
        else:
            return None
    return (tuple(order), holder) if schema_path else None


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
"""Built once: `json.loads` with hooks builds a decoder per call, a tenth of a small body's parse."""


class BodyProblem(ValueError):
    """Why a body is not strict JSON, in the words the 400 lists."""


def strict_json(raw: bytes) -> t.Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate members, bounded nesting; None for an empty body.

    The one parser of request bodies, for the full path (which words a 400) and the fast path (which hands
    a body it refuses to the full path)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyProblem(f"body: not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return None
    try:
        if text.startswith("\ufeff"):  # what json.loads refuses before it decodes, in its words
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _STRICT_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BodyProblem(f"body: malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise BodyProblem("body: JSON nested too deeply") from None
    except ValueError as exc:
        raise BodyProblem(f"body: malformed JSON ({exc})") from None
    if "\\u" in text and not _encodable(value):
        raise BodyProblem("body: contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)")
    return value


def parse_json(scope: Scope, raw: bytes) -> t.Any:
    """The body as strict JSON; else a 400 that also lists the parameter problems found before."""
    try:
        return strict_json(raw)
    except BodyProblem as exc:
        raise_problems(scope, [str(exc)])


def _encodable(value: t.Any) -> bool:
    """Only `\\uD8xx`-style escapes can smuggle lone surrogates past UTF-8 decoding; they can't be stored."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class EnvelopeBodyValidator(JSONRequestBodyValidator):
    """Connexion builds one per request; it keeps the request's scope to reach the pending problems."""

    _scope: Scope

    async def wrap_receive(self, receive: t.Any, *, scope: Scope) -> t.Any:
        self._scope = scope
        return await super().wrap_receive(receive, scope=scope)

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        return parse_json(scope, b"".join([chunk async for chunk in stream]))

    def _validate(self, body: t.Any) -> dict | None:
        problems = body_problems(self._schema, body)
        if problems or _pending(self._scope):
            raise_problems(self._scope, problems)
        return None


class EnvelopeParameterValidator(ParameterValidator):
    """Collects every parameter problem; raises now only when no body check follows."""

    def validate(self, scope: Scope) -> None:
        headers = Headers(scope=scope)
        values: dict[str, t.Callable[[str], str | None]] = {
            "path": scope.get("path_params", {}).get,
            "header": headers.get,
            "query": QueryParams(scope.get("query_string", b"").decode("latin-1")).get,
        }
        problems = [
            problem
            for location, value_of in values.items()
            for param in self.parameters.get(location, [])
            for problem in parameter_problems(param, value_of(param["name"]))
        ]
        if self.uri_parser._body_schema and _untyped_body(headers):
            problems.append(MISSING_CONTENT_TYPE)
        _pending(scope)[:] = problems
        if problems and not self.uri_parser._body_schema:
            raise_problems(scope, [])


MISSING_CONTENT_TYPE = "Content-Type: required (application/json)"


def _untyped_body(headers: Headers) -> bool:
    """A body without a Content-Type: connexion would assume JSON, the contract says 400 (another media type)."""
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    return has_body and "content-type" not in headers


def parameter_problems(param: dict[str, t.Any], value: str | None) -> list[str]:
    """What is wrong with one raw parameter value, in plain words; empty when it is valid."""
    name, schema = param["name"], param.get("schema", {})
    if value is None:
        return [f"{name}: required"] if param.get("required") else []
    typed: t.Any = value
    if schema.get("type") in ("integer", "number"):
        try:
            typed = float(value) if schema["type"] == "number" else int(value)
        except ValueError:
            return [f"{name}: {_plain('type', schema['type'], {})}"]
    if VALIDATORS.fast(schema).is_valid(typed):
        return []
    errors = VALIDATORS.python(schema).iter_errors(typed)
    return [line for error in errors for line in describe(error, root=name)] or [f"{name}: not valid"]


def parameter_check(param: dict[str, t.Any]) -> t.Callable[[str | None], bool]:
    """`not parameter_problems(param, value)`, compiled once for a caller that asks on every request and needs
    the verdict only (the fast path, which hands an invalid parameter to the full path for its wording)."""
    required, schema = bool(param.get("required")), param.get("schema", {})
    if schema.get("type") in ("integer", "number"):
        return lambda value: not parameter_problems(param, value)  # typed: parameter_problems converts first
    validator = VALIDATORS.fast(schema)  # held here: the cache may drop it, this caller keeps asking
    return lambda value: not required if value is None else validator.is_valid(value)


VALIDATOR_MAP: dict[str, t.Any] = {
    "parameter": EnvelopeParameterValidator,
    "body": MediaTypeDict({"*/*json": EnvelopeBodyValidator}),
}
