"""Request validation that reports every problem at once, in plain words, inside the Sonarly envelope.

Connexion's stock validators stop at the first error and answer problem+json; these replace them
through `validator_map`. Parameter errors wait in a context variable until the body has been
checked too, so one 400 lists both.
"""

from __future__ import annotations

import json
import typing as t
from contextvars import ContextVar

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.types import Scope

from mock_server.http.envelope import EnvelopeError, validation_error

_pending: ContextVar[tuple[str, ...]] = ContextVar("sonarly_parameter_errors", default=())
_validators: dict[int, Draft4Validator] = {}
_fast_validators: dict[int, jsonschema_rs.Validator] = {}


def clear_pending_problems() -> None:
    _pending.set(())


def take_pending_problems() -> list[str]:
    """Parameter problems found earlier in this request, cleared once read."""
    problems = list(_pending.get())
    _pending.set(())
    return problems


def problems_error(problems: list[str]) -> EnvelopeError:
    """One 400 naming the parameter problems found earlier in this request and `problems`, once each."""
    return validation_error("\n".join(dict.fromkeys(take_pending_problems() + problems)))


def raise_problems(problems: list[str]) -> t.NoReturn:
    raise problems_error(problems)


def describe(error: ValidationError, root: str = "body") -> list[str]:
    """Turn one jsonschema error into `field: what is wrong` lines a person can act on."""
    path = ".".join(str(p) for p in error.absolute_path) or root
    kind = error.validator if isinstance(error.validator, str) else None
    value = error.validator_value
    schema: t.Mapping[str, t.Any] = error.schema if isinstance(error.schema, t.Mapping) else {}
    if kind == "required":
        name = error.message.split("'")[1] if "'" in error.message else str(value)
        return [f"{_join(path, name, root)}: required"]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(schema.get("properties", {}))
        return [f"{_join(path, name, root)}: unknown property" for name in error.instance if name not in known]
    if kind == "anyOf" and schema.get("title"):
        return [schema["title"]]
    if schema.get("title") and kind in ("pattern", "minLength", "maxLength"):
        return [f"{path}: {schema['title']}"]
    return [f"{path}: {_plain(kind, value, error)}"]


def _join(path: str, name: str, root: str) -> str:
    return name if path == root else f"{path}.{name}"


def _plain(kind: str | None, value: t.Any, error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, t.Mapping) else {}
    articles = {"object": "a JSON object", "array": "an array", "integer": "an integer"}
    words: dict[str, t.Callable[[], str]] = {
        "type": lambda: f"must be {articles.get(str(value), f'a {value}')}",
        "minLength": lambda: f"must be at least {value} character{'s' if value != 1 else ''}",
        "maxLength": lambda: f"must be at most {value} characters",
        "pattern": lambda: schema.get("x-pattern-message") or f"must match {value}",
        "enum": lambda: "must be one of: " + ", ".join(json.dumps(v) for v in value),
        "minimum": lambda: f"must be at least {value}",
        "maximum": lambda: f"must be at most {value}",
    }
    return words.get(str(kind), lambda: error.message)()


def _cached_validator(schema: dict[str, t.Any]) -> Draft4Validator:
    """Connexion builds a validator per request; building one per schema is enough."""
    validator = _validators.get(id(schema))
    if validator is None:
        validator = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        _validators[id(schema)] = validator
    return validator


def _fast_validator(schema: dict[str, t.Any]) -> jsonschema_rs.Validator:
    """The same Draft 4 rules, compiled by jsonschema-rs: it decides "valid" in about a microsecond, where
    the Python validator needs tens; the Python one still words every problem of an invalid request.
    tests/test_fast_validation.py holds the two to the same verdicts."""
    validator = _fast_validators.get(id(schema))
    if validator is None:
        validator = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
        _fast_validators[id(schema)] = validator
    return validator


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def parse_json(raw: bytes) -> t.Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate members, bounded nesting; else a 400."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise_problems([f"body: not valid UTF-8 (byte {exc.start})"])
    if not text.strip():
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise_problems([f"body: malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"])
    except RecursionError:
        raise_problems(["body: JSON nested too deeply"])
    except ValueError as exc:
        raise_problems([f"body: malformed JSON ({exc})"])
    if "\\u" in text and not _encodable(value):
        raise_problems(["body: contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)"])
    return value


def _encodable(value: t.Any) -> bool:
    """Only `\\uD8xx`-style escapes can smuggle lone surrogates past UTF-8 decoding; they can't be stored."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class EnvelopeBodyValidator(JSONRequestBodyValidator):
    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        return parse_json(b"".join([chunk async for chunk in stream]))

    def _validate(self, body: t.Any) -> dict | None:
        if body is None:
            raise_problems(["body: required (a JSON object)"])
        if _fast_validator(self._schema).is_valid(body) and not _pending.get():
            return None
        problems = [line for error in _cached_validator(self._schema).iter_errors(body) for line in describe(error)]
        if problems or _pending.get():
            raise_problems(problems)
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
        _pending.set(tuple(problems))
        if problems and not self.uri_parser._body_schema:
            raise_problems([])


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
            return [f"{name}: {_plain('type', schema['type'], ValidationError(''))}"]
    if _fast_validator(schema).is_valid(typed):
        return []
    errors = _cached_validator(schema).iter_errors(typed)
    return [line for error in errors for line in describe(error, root=name)] or [f"{name}: not valid"]


VALIDATOR_MAP: dict[str, t.Any] = {
    "parameter": EnvelopeParameterValidator,
    "body": MediaTypeDict({"*/*json": EnvelopeBodyValidator}),
}
