"""Drive two builds of the mock in-process, as uvicorn would, and compare what a client could tell apart.

Used by tests/http/test_fast_path_differential.py: the same raw requests go to an app with the fast path and
to one without, and their answers and stored state must be equal once the values that are random by design
(object ids, trace ids) are replaced by their order of first appearance, so structure is compared and
randomness is not. Raw ASGI rather than an HTTP client: the scope is built byte for byte like uvicorn's
HTTP/1.1 scope (lowercase header names, repeated headers kept, the body in several messages), which is what
the fast path parses, and it costs no sockets. Answers go to uvicorn's own request cycle over a transport that
keeps the bytes (what a client reads), since the fast path writes whole responses to that cycle directly.

Requests are described by named parts (`Send`: `auth="readonly"`, `key="too_long"`...), so that a failing
example Hypothesis prints reads as the request it sends, and no key value appears in it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope
from starlette.types import Send as ASGISend
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{24}(?![0-9a-f])")
"""`new_object_id` and trace ids: 24 lowercase hex digits, also inside `cnv_<id>`."""
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
MASKED_HEADERS = frozenset({"date", "server"})
"""Set by uvicorn, not by the app; masked should an app ever set them."""
READY = ("default", "s1", "s2")
"""Sessions that exist, on a frozen clock, when a sequence starts."""
FRESH = ("fresh1", "fresh2")
"""Sessions a sequence may create; they run on real time (their instants are masked). With the three above
and `max_sessions=4`, the first one created fits and the second is refused (429, Retry-After 60)."""
GROUPS = ("ag_acme", "ag_globex")


@dataclass(frozen=True)
class RawRequest:
    method: str
    raw_path: bytes
    query_string: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    chunks: tuple[bytes, ...]


@dataclass(frozen=True)
class Answer:
    status: int | None
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    raised: str | None = None
    writes: int = 0
    """How many writes the response took: uvicorn's `send` writes the head and the body apart, `write_whole` once."""


def scope_of(request: RawRequest) -> dict[str, Any]:
    """The scope uvicorn's h11 protocol builds for this request (its path is the raw path, %-decoded)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": request.method,
        "root_path": "",
        "path": unquote(request.raw_path.decode("ascii")),
        "raw_path": request.raw_path,
        "query_string": request.query_string,
        "headers": [(b"host", b"127.0.0.1:8080"), *request.headers],
        "state": {},
    }


async def call(app: ASGIApp, request: RawRequest, gone: bool = False) -> Answer:
    """One request, in a task of its own (its own context, as uvicorn gives each request), answered to uvicorn's
    own request cycle, whose bytes are read back: the fast path writes a whole response to that cycle at once
    (`protocol.write_whole`), the full path sends ASGI messages through it, and both are compared as sent.
    `gone`: the client left before the answer (the cycle is marked disconnected, as uvicorn marks it)."""
    chunks = list(request.chunks) or [b""]
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    finished = asyncio.Event()

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await finished.wait()  # uvicorn: after the body, the next message is the disconnect, once answered
        return {"type": "http.disconnect"}

    scope = scope_of(request)
    transport = WrittenTransport()
    cycle = RequestResponseCycle(
        scope=cast(Any, scope),
        transport=transport,
        flow=FlowControl(transport),
        logger=logging.getLogger("uvicorn.error"),
        access_logger=logging.getLogger("uvicorn.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=finished.set,
    )
    cycle.disconnected = gone
    raised = None
    try:
        await asyncio.create_task(_serve(app, scope, receive, cast(ASGISend, cycle.send)))
    except Exception as exc:  # uvicorn would log it and close the connection: part of what is compared
        raised = type(exc).__name__
    finished.set()
    return read_back(bytes(transport.written), raised, transport.writes)


class WrittenTransport(asyncio.Transport):
    """The connection's end of uvicorn's cycle: keeps what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.writes = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data
        self.writes += 1

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def read_back(written: bytes, raised: str | None, writes: int) -> Answer:
    """Status, headers and body of the HTTP/1.1 response bytes (a chunked body joined); nothing: no status."""
    if not written:
        return Answer(None, (), b"", raised, writes)
    head, _, body = written.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = tuple((name, value) for name, _, value in (line.partition(b": ") for line in lines))
    if (b"transfer-encoding", b"chunked") in headers:
        body = _unchunked(body)
    return Answer(int(status_line.split(b" ")[1]), headers, body, raised, writes)


def _unchunked(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


async def _serve(app: ASGIApp, scope: Scope, receive: Receive, send: ASGISend) -> None:
    await app(scope, receive, send)


def json_request(method: str, path: str, session: str | None, body: Any = None) -> RawRequest:
    """A control-API call (no control token in these apps)."""
    headers: list[tuple[bytes, bytes]] = []
    if session is not None:
        headers.append((b"x-mock-session", session.encode()))
    chunks: tuple[bytes, ...] = ()
    if body is not None:
        payload = json.dumps(body).encode()
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        chunks = (payload,)
    raw_path, _, query = path.partition("?")
    return RawRequest(method, raw_path.encode(), query.encode(), tuple(headers), chunks)


async def control(app: ASGIApp, method: str, path: str, session: str | None = None, body: Any = None) -> Any:
    """The `data` of a successful control call; anything else fails the test with what came back."""
    answer = await call(app, json_request(method, "/__mock" + path, session, body))
    assert answer.status is not None and answer.status < 300, f"{method} {path}: {answer}"
    return json.loads(answer.body)["data"]


# --- What a request is made of; each option is named, so a failing example reads as the request it sends.

PATHS = {
    "acme": b"/v1/accounts/ag_acme/messages/responses",
    "globex": b"/v1/accounts/ag_globex/messages/responses",
    "unknown_group": b"/v1/accounts/ag_nobody/messages/responses",
    "encoded_slash": b"/v1/accounts/ag%2Facme/messages/responses",
    "encoded_letter": b"/v1/accounts/ag%5Facme/messages/responses",
    "encoded_control": b"/v1/accounts/ag%0Aacme/messages/responses",
    "encoded_literal": b"/v1/accounts/ag_acme/messages%2Fresponses",  # decoded, it routes; opaque, it is a 404
    "non_ascii": b"/v1/accounts/ag_%C3%A9/messages/responses",
    "trailing_slash": b"/v1/accounts/ag_acme/messages/responses/",
    "dots": b"/v1/accounts/ag.acme/messages/responses",
    "dot_dot": b"/v1/accounts/../messages/responses",
    "empty_id": b"/v1/accounts//messages/responses",
    "long_id": b"/v1/accounts/" + b"g" * 300 + b"/messages/responses",
    "other_route": b"/v1/accounts/ag_acme/messages",
}
AUTHS: dict[str, tuple[bytes, ...]] = {
    "writer": (b"Bearer sk_test_acme_writer",),
    "globex_writer": (b"Bearer sk_test_globex_writer",),
    "readonly": (b"Bearer sk_test_acme_readonly",),
    "revoked": (b"Bearer sk_test_revoked",),
    "unknown": (b"Bearer sk_test_nobody",),
    "lowercase_scheme": (b"bearer sk_test_acme_writer",),
    "double_space": (b"Bearer  sk_test_acme_writer",),
    "tab": (b"Bearer\tsk_test_acme_writer",),
    "basic": (b"Basic c2tfdGVzdF9hY21lX3dyaXRlcjo=",),
    "scheme_only": (b"Bearer",),
    "token_only": (b"sk_test_acme_writer",),
    "missing": (),
    "twice": (b"Bearer sk_test_acme_writer", b"Bearer sk_test_acme_writer"),
    "twice_other": (b"Bearer sk_test_acme_writer", b"Bearer sk_test_nobody"),
}
CONTENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "json": (b"application/json",),
    "json_charset": (b"application/json; charset=utf-8",),
    "json_charset_tight": (b"application/json;charset=UTF-8",),
    "json_odd_case": (b"Application/JSON",),
    "json_latin1": (b"application/json; charset=latin-1",),
    "text": (b"text/plain",),
    "vendor_json": (b"application/vnd.api+json",),
    "form": (b"application/x-www-form-urlencoded",),
    "empty": (b"",),
    "missing": (),
    "twice": (b"application/json", b"application/json"),
}
KEYS: dict[str, tuple[bytes, ...]] = {
    "none": (),
    "k1": (b"k1",),
    "k2": (b"retry-2",),
    "k3": (b"7f1c9a52-retry-1",),
    "max_length": (b"x" * 255,),
    "empty": (b"",),
    "too_long": (b"x" * 256,),
    "non_ascii": ("ключ".encode(),),
    "latin1": (b"caf\xe9",),
    "space": (b"a b",),
    "twice": (b"k1", b"retry-2"),
}
SESSIONS: dict[str, tuple[bytes, ...]] = {
    "none": (),
    "default": (b"default",),
    "s1": (b"s1",),
    "s2": (b"s2",),
    "fresh1": (b"fresh1",),
    "fresh2": (b"fresh2",),
    "invalid": (b"bad session",),
    "empty": (b"",),
    "too_long": (b"s" * 65,),
    "twice": (b"s1", b"s2"),
}
EXTRAS: dict[str, tuple[tuple[bytes, bytes], ...]] = {
    "prefer_code": ((b"prefer", b"code=409"),),
    "prefer_example": ((b"prefer", b"example=INMAIL_NOT_ELIGIBLE"),),
    "prefer_undocumented": ((b"prefer", b"code=418"),),
    "prefer_other": ((b"prefer", b"respond-async"),),
    "origin": ((b"origin", b"https://app.example"),),
    "expect": ((b"expect", b"100-continue"),),
    "accept_html": ((b"accept", b"text/html"),),
    "gzip": ((b"content-encoding", b"gzip"),),
}


@dataclass(frozen=True)
class Send:
    """One API request, by the names of its parts."""

    method: str
    path: str
    auth: str
    content_type: str
    key: str
    session: str
    extras: tuple[str, ...]
    query: bytes
    body: bytes
    chunks: int
    framing: str

    def __repr__(self) -> str:
        """A failing example as it is sent, with a long body cut (the Hypothesis database keeps it whole)."""
        body = repr(self.body) if len(self.body) <= 200 else f"{self.body[:200]!r}... ({len(self.body)} bytes)"
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__ if name != "body")
        return f"Send({fields}, body={body})"

    def raw(self) -> RawRequest:
        headers = [(b"authorization", v) for v in AUTHS[self.auth]]
        headers += [(b"content-type", v) for v in CONTENT_TYPES[self.content_type]]
        headers += [(b"idempotency-key", v) for v in KEYS[self.key]]
        headers += [(b"x-mock-session", v) for v in SESSIONS[self.session]]
        headers += [header for extra in self.extras for header in EXTRAS[extra]]
        if self.framing == "chunked":
            headers.append((b"transfer-encoding", b"chunked"))
        else:
            length = str(len(self.body)).encode()
            headers.append((b"content-length", b"0" + length if self.framing == "zero_padded" else length))
        size = -(-len(self.body) // self.chunks) or 1
        chunks = tuple(self.body[i : i + size] for i in range(0, len(self.body), size))
        return RawRequest(self.method, PATHS[self.path], self.query, tuple(headers), chunks)


class Canon:
    """Replaces each random id by `<id N>`, N its order of first appearance in one app's answers.

    One instance per app and example, fed the same answers in the same order: two apps that hand out the same
    ids in the same places canonicalise alike, whatever the random values were. Dict members are visited in
    sorted order, so the numbering does not depend on the order a serializer wrote them in.
    """

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def text(self, text: str, mask_times: bool = False) -> str:
        text = HEX_ID.sub(self._id, text)
        return INSTANT.sub("<time>", text) if mask_times else text

    def _id(self, match: re.Match[str]) -> str:
        return self.ids.setdefault(match.group(0), f"<id {len(self.ids)}>")

    def value(self, value: Any, mask_times: bool = False) -> Any:
        if isinstance(value, str):
            return self.text(value, mask_times)
        if isinstance(value, list):
            return [self.value(item, mask_times) for item in value]
        if isinstance(value, dict):
            return {key: self.value(value[key], mask_times) for key in sorted(value)}
        return value

    def answer(self, answer: Answer, mask_times: bool = False) -> dict[str, Any]:
        """Status, headers (sorted; ids canonical) and body (parsed JSON when it parses, else its bytes)."""
        named = sorted(((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in answer.headers), key=_name)
        headers = sorted((k, "<masked>" if k in MASKED_HEADERS else self.text(v)) for k, v in named)
        try:
            body: Any = self.value(json.loads(answer.body), mask_times)
        except ValueError:
            body = self.text(answer.body.decode("latin-1"), mask_times).encode("latin-1")
        return {"status": answer.status, "headers": headers, "body": body, "raised": answer.raised}


def _name(header: tuple[str, str]) -> str:
    """Headers are canonicalised in name order, so that ids are numbered alike whatever order they came in."""
    return header[0]


JOURNAL_IGNORED = frozenset({"seq", "at", "durationMs"})
"""Wall-clock facts of a journal entry (and the global sequence it was given), different on every run."""


async def stored_state(app: ASGIApp, canon: Canon, groups: tuple[str, ...], fresh: frozenset[str]) -> dict[str, Any]:
    """Every session's messages per group, journal and pending faults, canonicalised; sessions in `fresh` run on
    real time, so their instants are masked. Read only from sessions that exist (a read would create one)."""
    names = sorted(session["name"] for session in (await control(app, "GET", "/sessions"))["sessions"])
    state: dict[str, Any] = {"sessions": names}
    for name in names:
        mask = name in fresh
        messages = {
            group: canon.value(
                (await control(app, "GET", f"/accounts/{group}/messages?limit=10000", name))["messages"], mask
            )
            for group in groups
        }
        entries = (await control(app, "GET", "/journal?limit=1000", name))["entries"]
        journal = [{k: v for k, v in entry.items() if k not in JOURNAL_IGNORED} for entry in entries]
        faults = (await control(app, "GET", "/faults", name))["faults"]
        state[name] = {"messages": messages, "journal": canon.value(journal, mask), "faults": faults}
    return state


@dataclass
class Pair:
    """Both apps, each with its own canonical ids, and the outcomes met so far."""

    fast: ASGIApp
    full: ASGIApp
    seen: Counter[str]
    fast_ids: Canon = field(default_factory=Canon)
    full_ids: Canon = field(default_factory=Canon)
    written_whole: Counter[str] = field(default_factory=Counter)
    """The fast app's outcomes that left in one write (`write_whole`), not as uvicorn's two."""

    async def both(self, request: RawRequest, fresh: bool, label: str) -> str:
        """Send to both; their answers must be equal. Returns the outcome."""
        fast_answer, full_answer = await call(self.fast, request), await call(self.full, request)
        fast = self.fast_ids.answer(fast_answer, mask_times=fresh)
        full = self.full_ids.answer(full_answer, mask_times=fresh)
        assert fast == full, f"{label}\nfast path: {fast}\nfull path: {full}"
        # uvicorn writes a head, then a body (none for a HEAD).
        assert full_answer.writes != 1 or request.method == "HEAD", f"{label}: the full path wrote a response whole"
        self.seen[outcome(full)] += 1
        if fast_answer.writes == 1 and request.method != "HEAD":
            self.written_whole[outcome(full)] += 1
        return outcome(full)

    async def same_state(self) -> None:
        fast = await stored_state(self.fast, self.fast_ids, GROUPS, frozenset(FRESH))
        full = await stored_state(self.full, self.full_ids, GROUPS, frozenset(FRESH))
        assert fast == full, f"stored state differs\nfast path: {fast}\nfull path: {full}"


def outcome(answer: dict[str, Any]) -> str:
    """`202`, `202 replay`, or the status and error code, for the mix a run must reach."""
    if answer["status"] == 202:
        return "202 replay" if ("idempotent-replayed", "true") in answer["headers"] else "202"
    body = answer["body"]
    code = body.get("error", {}).get("code") if isinstance(body, dict) and body.get("error") else None
    return f"{answer['status']} {code}"


async def prepare(app: ASGIApp, instants: tuple[str, ...]) -> None:
    """Every sequence starts alike: the named sessions gone, `default` reset, the READY clocks frozen."""
    for name in (*READY[1:], *FRESH):
        answer = await call(app, RawRequest("DELETE", f"/__mock/sessions/{name}".encode(), b"", (), ()))
        assert answer.status in (200, 404), answer
    await control(app, "POST", "/reset")
    for name, instant in zip(READY, instants, strict=True):
        await control(app, "PUT", "/clock", name, {"now": instant, "frozen": True})
