"""The contract operation's hot path: compiled from the spec at start-up, for the requests the full path accepts.

Why: a request through connexion's stack costs about 0.2 ms of per-request framework work (routing twice,
security, validator objects, scope copies) for answers the spec fixes in advance; the domain needs a fraction
of that. Connexion stays the spec-driven router and validator: this layer reads connexion's own loaded
operation once (route, bearer scheme, parameter rules, body schema) and takes a request only when routing,
the parameters and the media type accept it and the session may be used without a write. It then reads the
body (a declared length within the limit, which has nearly always arrived with the headers) and answers in
one transaction, whose first statement reads the session's dataset and faults along with what the domain
needs: the caller is checked there, and a request the full path must answer (an unknown or refused key, a
pending fault) is handed over with its body replayed, the transaction rolled back. Every other request goes
on, untouched, to the full path::

    FastPath -- route, no Origin, session name, parameters, media type, session admitted --> read the body
       |          -> the guards' set-up (trace id, session, journal, log) -> one transaction: key and group, no
       |             pending fault (else hand over, body replayed) -> rate limit (429) -> the body's problems
       |             (400, every one) -> domain (202, 409, 422); `Vary: Origin` as CORS adds it
       +-- anything else: unusual (Prefer, query, Expect, encodings, repeated headers, an encoded path), a browser's
           Origin, an invalid session name or parameter, an unknown or refused key, a pending fault, the session
           cap --> the full stack (CORS, Guards, connexion), unchanged

It comes first, before the CORS and guard layers, because for the requests it takes their work is a few
lines: no Origin means no CORS to decide but `Vary: Origin`; a path that routes here without any `%` or
control character is already the opaque path the guards would make; a declared length within the limit
bounds the body. It calls the guards' own set-up (`attach`, `Recording`) and CORS's `vary_origin`, so those
rules keep one home; passing through the two layers cost an accepted request 3% of its instructions
(bench/instructions.py).

Before it hands over, it has changed nothing the full path can see: its transaction is rolled back, the scope
is as it came, and the body's messages are replayed in order. A session that this process has not admitted
within the touch period (once a period, and a new session) is first checked apart: the caller read in a
statement of its own, and the session admitted (a write) only for a caller the full path would accept, as the
guards admit it. Once taken, the request is answered in the contract's order with the code the full path runs
(`charge`, `handlers.answer`, and `compiled_body_problems`, the full path's `body_problems` worded from the
compiled validator); its body is journaled only past the rate limit, where connexion reads it. Reading the
caller in the request's own transaction saves a statement and its implicit transaction (2% of an accepted
request's instructions, bench/instructions.py), and the key is checked against the dataset the request is
answered from. Under uvicorn, the answer leaves in one step (`Answering`, `protocol.write_whole`), recorded and
given `Vary: Origin` as the two wrappers would record and change its two ASGI messages (3%).
tests/http/test_fast_path_differential.py holds both paths to the same answers and the same stored state, the
answers read back from uvicorn's own request cycle.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.spec import Specification
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.domain import datasets
from mock_server.domain.access import Caller, authorize, identify
from mock_server.domain.datasets import Dataset
from mock_server.domain.errors import MockError
from mock_server.domain.sessions import OpenSession
from mock_server.http.cors import vary_origin, with_vary_origin
from mock_server.http.envelope import WholeSend, begin_trace
from mock_server.http.gate import charge
from mock_server.http.guards import CONTROL_CHARACTER, SESSION_HEADER_BYTES, attach, detach, send_envelope
from mock_server.http.handlers import CONTRACT_OPERATION, OPERATIONS, answer, body_of, read_messages, replaying
from mock_server.http.protocol import takes_whole, uvicorn_cycle, write_whole
from mock_server.http.recorder import Recording
from mock_server.http.runtime import CALLER, Runtime, session_from_header
from mock_server.http.validation import (
    BodyProblem,
    compiled_body_problems,
    parameter_check,
    problems_error,
    strict_json,
)
from mock_server.storage.rows_messages import QueueView
from openapi import CONTRACT_SPEC

JSON_MEDIA_TYPES = frozenset(
    {b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8"}
)
"""The Content-Type values taken here (any case); another spelling is left to the full path's media-type rules."""
READ_HEADERS = frozenset(
    {b"authorization", b"content-type", b"content-length", b"idempotency-key", b"prefer", b"expect",
     b"content-encoding", b"transfer-encoding", b"origin", SESSION_HEADER_BYTES}
)  # fmt: skip
"""The headers this path reads or refuses to interpret; any of them twice is unusual and goes to the full path."""
UNUSUAL = frozenset({b"prefer", b"expect", b"content-encoding", b"transfer-encoding", b"origin"})
"""Present: the full path decides (a documented example, `100 Continue`, an encoded or chunked body, a browser's
CORS)."""


@dataclass(frozen=True, slots=True)
class ParameterCheck:
    """One parameter's rule: where its raw value is, and whether the operation accepts that value."""

    name: str  # as the spec names it
    header: bytes | None  # the header's name as ASGI gives it (lower case); None for a path parameter
    accepts: Callable[[str | None], bool]

    def value(self, path_params: dict[str, str], headers: dict[bytes, bytes]) -> str | None:
        if self.header is None:
            return path_params.get(self.name)
        raw = headers.get(self.header)
        return None if raw is None else raw.decode("latin-1")


@dataclass(frozen=True, slots=True)
class CompiledOperation:
    """What the fast path needs of one operation, read once from connexion's loaded specification."""

    operation_id: str
    method: str
    route: re.Pattern[str]
    parameters: tuple[ParameterCheck, ...]
    body_schema: dict[str, Any]


def compile_operation(spec_path: Any = CONTRACT_SPEC, operation_id: str = CONTRACT_OPERATION) -> CompiledOperation:
    """Route, parameters and body validator of `operation_id`, as connexion resolves them (refs, base path).

    Only an operation this path can serve exactly is compiled: bearer authentication alone, a required JSON
    body, parameters in the path or headers. Anything else is a ValueError: the mock would rather refuse to
    start than answer differently from its full path."""
    spec = Specification.load(spec_path)
    for template, item in spec["paths"].items():
        for method, details in item.items():
            if isinstance(details, dict) and details.get("operationId") == operation_id:
                operation = OpenAPIOperation.from_spec(
                    spec, path=template, method=method, resolver=Resolver(function_resolver=OPERATIONS.__getitem__)
                )
                return _compiled(operation, spec.base_path + template)
    raise ValueError(f"no operation {operation_id} in {spec_path}")


def _compiled(operation: OpenAPIOperation, template: str) -> CompiledOperation:
    schemes = [operation.security_schemes.get(name, {}) for option in operation.security for name in option]
    if len(schemes) != 1 or (schemes[0].get("type"), schemes[0].get("scheme")) != ("http", "bearer"):
        raise ValueError(f"{operation.operation_id}: the fast path serves bearer authentication only")
    if not (operation.request_body or {}).get("required") or operation.consumes != ["application/json"]:
        raise ValueError(f"{operation.operation_id}: the fast path serves a required JSON body only")
    if any(p["in"] not in ("path", "header") for p in operation.parameters):
        raise ValueError(f"{operation.operation_id}: the fast path serves path and header parameters only")
    parameters = tuple(
        ParameterCheck(p["name"], None if p["in"] == "path" else p["name"].lower().encode(), parameter_check(p))
        for p in operation.parameters
    )
    # A path parameter matches one segment, as connexion's (Starlette's) router matches it.
    pattern = re.sub(r"\\\{([^/]+?)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return CompiledOperation(
        operation.operation_id,
        operation.method.upper(),
        re.compile(pattern),
        parameters,
        operation.body_schema("application/json"),
    )


class HandOver(Exception):
    """Raised in the request's transaction (rolling it back) when the full path is to answer: an unknown or
    refused key, or a pending fault, found by the statement that opens the session."""


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class Candidate:
    """A request whose route, headers and parameters the operation accepts; its caller and body still to check."""

    path_params: dict[str, str]
    token: str
    idempotency_key: str | None
    session: str


class FastPath:
    def __init__(self, app: ASGIApp, runtime: Runtime, operation: CompiledOperation) -> None:
        self.app = app
        self.runtime = runtime
        self.operation = operation
        self.max_body = runtime.config.max_body_bytes

    @classmethod
    def around(cls, app: ASGIApp, runtime: Runtime) -> ASGIApp:
        """The layer, unless `--no-fast-path` or `--flask-handlers` (which asks for the Flask view) turned it off."""
        if not runtime.config.fast_path or runtime.config.flask_handlers:
            return app
        return cls(app, runtime, compile_operation())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The contract's order: key and group, the session admitted, the rate limit, the body's problems (400),
        then the domain. The body is read first (a candidate declares a length within the limit; it has nearly
        always arrived with the headers) so that the checks and the domain run in one transaction, whose first
        statement also reads the session's dataset and faults; a request that fails the caller's checks there is
        handed over with its body replayed, nothing written."""
        candidate = self.candidate(scope) if scope["type"] == "http" else None
        if candidate is None or not self.admits(candidate):
            await self.app(scope, receive, send)
            return
        received = await read_messages(receive)
        try:
            await self.serve(scope, send, candidate, received)
        except HandOver:
            await self.app(scope, replaying(received, receive), send)

    def admits(self, candidate: Candidate) -> bool:
        """The session may be used without a write: admitted by this process within the touch period. Otherwise
        (once per period, and for a new session) the caller is read on its own first, and the session admitted
        only for a caller the full path would accept, as the guards admit it: then the request is taken."""
        if self.runtime.admitted_recently(candidate.session):
            return True
        return self.caller(candidate) is not None and self.admitted(candidate.session)

    async def serve(self, scope: Scope, send: Send, candidate: Candidate, received: list[Message]) -> None:
        """Answer the taken request, or raise HandOver (from `first`) before anything is sent or kept."""
        attach(scope, self.runtime, candidate.session)
        recording = Recording(scope, self.runtime, begin_trace())
        raw = body_of(received)
        body, problems = self.parsed(raw)

        def first(opened: OpenSession, view: QueueView) -> None:
            caller = None if view.faults_pending else self.allowed(opened.dataset, candidate)
            if caller is None:
                raise HandOver
            scope["extensions"][CALLER] = caller
            charge(self.runtime, candidate.session, caller)
            recording.request.add(raw)  # the body counts as read past the rate limit, where connexion reads it
            if problems:
                raise problems_error(scope, problems)

        send = Answering(recording, send)
        try:
            await answer(scope, send, candidate.path_params["accountGroupId"], body, candidate.idempotency_key, first)
        except HandOver:
            recording.discard()
            detach(scope)
            raise
        except MockError as exc:
            await send_envelope(send, exc)
        finally:
            recording.finish()

    def candidate(self, scope: Scope) -> Candidate | None:
        """Route, method and headers as the operation takes them; None hands the request over."""
        path: str = scope["path"]
        if scope["method"] != self.operation.method or scope["query_string"] or scope.get("root_path"):
            return None
        match = self.operation.route.fullmatch(path)
        # Encoded or control characters: the guards' opaque path decides how it routes (`%2F` does not split it).
        if match is None or b"%" in scope.get("raw_path", b"%") or CONTROL_CHARACTER.search(path):
            return None
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in READ_HEADERS:
                if name in headers:
                    return None
                headers[name] = value
        if not UNUSUAL.isdisjoint(headers):
            return None
        if headers.get(b"content-type", b"").lower() not in JSON_MEDIA_TYPES:
            return None
        length = headers.get(b"content-length", b"")
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        if not length.isdigit() or not 0 < int(length) <= self.max_body or token is None:
            return None
        path_params = match.groupdict()
        for check in self.operation.parameters:
            if not check.accepts(check.value(path_params, headers)):
                return None
        named = headers.get(SESSION_HEADER_BYTES)
        try:
            session = session_from_header(None if named is None else named.decode("latin-1"))
        except MockError:  # the guards' 400
            return None
        key = headers.get(b"idempotency-key")
        return Candidate(path_params, token, None if key is None else key.decode("latin-1"), session)

    def caller(self, candidate: Candidate) -> Caller | None:
        """The key, allowed on the account group, in a session without pending faults; None hands over. Reads only."""
        try:
            with self.runtime.store.reading() as tx:
                dataset, faults_pending = tx.dataset_and_faults(candidate.session)
                return None if faults_pending else self.allowed(datasets.load(tx, dataset), candidate)
        except LookupError:  # another process replaced the session's dataset meanwhile
            return None

    @staticmethod
    def allowed(dataset: Dataset, candidate: Candidate) -> Caller | None:
        """The candidate's key in `dataset`, allowed on the account group; None (hand over) for the 401 or 403."""
        try:
            caller = identify(dataset, candidate.token)
            authorize(caller, candidate.path_params["accountGroupId"])
        except MockError:
            return None
        return caller

    def parsed(self, raw: bytes) -> tuple[dict[str, Any], list[str]]:
        """The body, and every problem that makes it a 400 in the full path's words (none: the schema accepts
        strict JSON). Worked out before the transaction, raised inside it after the caller's checks."""
        try:
            body = strict_json(raw)
        except BodyProblem as exc:
            return {}, [str(exc)]
        return body, compiled_body_problems(self.operation.body_schema, body)

    def admitted(self, session: str) -> bool:
        """The session is created or touched as the full path would; past the session cap the full path answers."""
        try:
            self.runtime.admit(session)
        except MockError:
            return False
        return True


class Answering(WholeSend):
    """The taken request's `send`: under uvicorn, a whole response in one write to uvicorn's request cycle
    (`write_whole`), with what the recording and CORS's `Vary: Origin` would have done to its two messages done
    to it directly; when the cycle cannot take it now, for any other message, and under any other server, the
    messages go through those two wrappers, as the full stack sends them."""

    __slots__ = ("cycle", "recording", "send", "wrapped")

    def __init__(self, recording: Recording, send: Send) -> None:
        self.recording = recording
        self.send = send
        self.cycle = uvicorn_cycle(send)  # looked up once: None under another server
        self.wrapped: Send | None = None

    async def __call__(self, message: Message) -> None:
        if self.wrapped is None:
            self.wrapped = self.recording.send(vary_origin(self.send))
        await self.wrapped(message)

    def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        if self.cycle is None or not takes_whole(self.cycle):
            return False
        write_whole(self.cycle, status, with_vary_origin(self.recording.whole(status, headers, body)), body)
        return True


def bearer_token(authorization: str) -> str | None:
    """The token exactly as connexion's bearer handler splits it (`split(maxsplit=1)`, scheme in any case);
    None for whatever it would refuse or read otherwise."""
    parts = authorization.split(maxsplit=1)
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else None
