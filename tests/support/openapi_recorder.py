"""Record httpx exchanges and validate them independently with openapi-core.

Why a second validator: the mock validates with connexion (jsonschema Draft 4). openapi-core is a different
implementation of OpenAPI 3.0, so a response that both accept is far less likely to conform only by the
accident of one library's reading of the document.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "sonarly.yaml"
# Used only to catch a broken path matcher: a POST here must never be "skipped as not in the document".
CONTRACT_PATH = re.compile(r"^/v1/accounts/[^/]+/messages/responses$")
ClientT = TypeVar("ClientT", httpx.Client, httpx.AsyncClient)


@dataclass(frozen=True)
class Exchange:
    """One request and its (fully read) response, with the test that sent it for error messages."""

    request: httpx.Request
    response: httpx.Response
    test_id: str = ""

    def describe(self) -> str:
        """Short label for reports: who sent what, and what came back."""
        where = f" [{self.test_id}]" if self.test_id else ""
        target = self.request.url.raw_path.decode("ascii", "replace")
        return f"{self.request.method} {target} -> {self.response.status_code}{where}"


class ExchangeRecorder:
    """Collects every (request, response) pair that passes through the httpx clients it is installed on.

    It works as an httpx response event hook, so the HTTP tests keep using a plain `httpx.Client`.
    Thread-safe: concurrency tests may share one client between threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def add(self, response: httpx.Response) -> None:
        """Record a response that has already been read; its `.request` is the request that was sent."""
        test_id = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        with self._lock:
            self._exchanges.append(Exchange(response.request, response, test_id))

    def hook(self, response: httpx.Response) -> None:
        """Sync httpx response hook. Hooks run before the body is read, so read it first."""
        response.read()
        self.add(response)

    async def async_hook(self, response: httpx.Response) -> None:
        """Async httpx response hook, for `httpx.AsyncClient`."""
        await response.aread()
        self.add(response)

    def install(self, client: ClientT) -> ClientT:
        """Add this recorder's hook to an existing client and return the client."""
        hook = self.async_hook if isinstance(client, httpx.AsyncClient) else self.hook
        hooks = client.event_hooks
        hooks["response"] = [*hooks.get("response", []), hook]
        client.event_hooks = hooks
        return client

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new `httpx.Client(**kwargs)` that records into this recorder."""
        return self.install(httpx.Client(**kwargs))

    @property
    def exchanges(self) -> tuple[Exchange, ...]:
        """A snapshot, so callers can iterate while other threads still record."""
        with self._lock:
            return tuple(self._exchanges)

    def __len__(self) -> int:
        with self._lock:
            return len(self._exchanges)


class HttpxOpenAPIRequest:
    """openapi-core `Request` protocol over an `httpx.Request` (openapi-core ships no httpx adapter)."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        cookies = SimpleCookie(request.headers.get("cookie", ""))
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode("ascii", "replace"))),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict({name: morsel.value for name, morsel in cookies.items()}),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode('ascii')}"

    @property
    def path(self) -> str:
        # The raw (still percent-encoded) path: odd bytes such as %0A stay inside one path segment, so the
        # path template still matches and the server's error response still gets validated.
        return self._request.url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        try:
            return self._request.content or None
        except httpx.RequestNotRead:  # a streamed upload: nothing we can check
            return None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class HttpxOpenAPIResponse:
    """openapi-core `Response` protocol over a read `httpx.Response`."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "").lower()

    @property
    def headers(self) -> Headers:
        return Headers(self._response.headers.multi_items())


@dataclass(frozen=True)
class ExchangeReport:
    """Outcome of validating one exchange. Only `response_problems` make a server non-conformant."""

    skipped: str | None = None
    request_problems: list[str] = field(default_factory=list)
    response_problems: list[str] = field(default_factory=list)


@cache
def load_contract(spec_path: Path = SPEC_PATH) -> OpenAPI:
    """The contract with `servers` replaced by `/`: we check the API's shape, not the host it runs on."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    spec["servers"] = [{"url": "/"}]
    return OpenAPI.from_dict(spec, base_uri=spec_path.as_uri())


def validate_exchange(
    request: httpx.Request, response: httpx.Response, openapi: OpenAPI | None = None
) -> ExchangeReport:
    """Validate one pair: the response always; the request too, but only to report (tests send bad ones)."""
    openapi = openapi or load_contract()
    core_request = HttpxOpenAPIRequest(request)
    response_errors = list(openapi.iter_response_errors(core_request, HttpxOpenAPIResponse(response)))
    if any(isinstance(error, PathNotFound | OperationNotFound) for error in response_errors):
        return ExchangeReport(skipped=f"{request.method} {core_request.path} is not in the document")
    return ExchangeReport(
        request_problems=_request_problems(openapi, core_request),
        response_problems=[describe_error(error) for error in response_errors],
    )


def _request_problems(openapi: OpenAPI, core_request: HttpxOpenAPIRequest) -> list[str]:
    """Only reported, never failed on; hostile requests (invalid UTF-8, deep nesting) can break openapi-core
    itself, which must not hide the response check."""
    try:
        return [describe_error(error) for error in openapi.iter_request_errors(core_request)]
    except (UnicodeDecodeError, RecursionError) as exc:
        return [f"request not checkable by openapi-core: {type(exc).__name__}"]


def response_problems(request: httpx.Request, response: httpx.Response) -> list[str]:
    """Human-readable reasons the response breaks the contract; empty when it conforms or is out of scope."""
    return validate_exchange(request, response).response_problems


@dataclass(frozen=True)
class SuiteVerdict:
    """Validation of many exchanges: `failures` break the contract, `request_notes` are informational."""

    checked: int
    skipped: int
    failures: list[str]
    request_notes: list[str]


def validate_all(exchanges: Iterable[Exchange], openapi: OpenAPI | None = None) -> SuiteVerdict:
    """Validate every exchange's response; a contract-path POST that was not matched is a failure too."""
    checked, skipped, failures, notes = 0, 0, [], []
    for exchange in exchanges:
        report = validate_exchange(exchange.request, exchange.response, openapi)
        path = HttpxOpenAPIRequest(exchange.request).path
        if report.skipped and not (exchange.request.method == "POST" and CONTRACT_PATH.match(path)):
            skipped += 1
            continue
        checked += 1
        if report.skipped:
            failures.append(f"{exchange.describe()}: not matched to the contract path ({report.skipped})")
        failures += [f"{exchange.describe()}: {problem}" for problem in report.response_problems]
        notes += [f"{exchange.describe()}: {problem}" for problem in report.request_problems]
    return SuiteVerdict(checked, skipped, failures, notes)


def describe_error(error: BaseException) -> str:
    """Flatten openapi-core's chained errors into one line, down to each jsonschema error and its path."""
    parts: list[str] = []
    node: BaseException | None = error
    while node is not None:
        schema_errors = list(getattr(node, "schema_errors", None) or [])
        if schema_errors:
            parts += [_schema_error_line(schema_error) for schema_error in schema_errors]
            break
        text = _own_text(node)
        if text and not any(text in part for part in parts):
            parts.append(text)
        node = node.__cause__
    label = type(error).__name__
    if parts and parts[0].startswith(label):
        parts[0] = parts[0].removeprefix(label).strip(" :;")
    return f"{label}: " + "; ".join(part for part in parts if part)


def _own_text(error: BaseException) -> str:
    """An error's message without the text of its cause, which openapi-core often repeats inside it."""
    text = str(error)
    if error.__cause__ is not None and str(error.__cause__):
        text = text.replace(str(error.__cause__), "")
    return text.strip(" :;")


def _schema_error_line(error: Any) -> str:
    """`at error.code: 'X' is not one of [...]` from a jsonschema ValidationError."""
    path = ".".join(str(part) for part in getattr(error, "absolute_path", [])) or "<root>"
    return f"at {path}: {getattr(error, 'message', error)}"
