"""The Sonarly envelope `{success, data, error, traceId}` and the per-request trace id."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextvars import ContextVar
from typing import Any

from flask import Response
from starlette.types import Message, Send

from mock_server.domain.errors import MockError
from mock_server.domain.tokens import new_object_id
from mock_server.jsontext import compact

JSON = "application/json"
JSON_BYTES = JSON.encode()
_trace_id: ContextVar[str | None] = ContextVar("sonarly_trace_id", default=None)


def new_trace_id() -> str:
    """Different on every response, as the contract asks; an id, not a secret (see domain/tokens.py)."""
    return new_object_id()


def begin_trace() -> str:
    """Give the current request its trace id; a2wsgi copies the context into Flask's worker thread."""
    trace_id = new_trace_id()
    _trace_id.set(trace_id)
    return trace_id


def current_trace_id() -> str:
    trace_id = _trace_id.get()
    if trace_id is None:
        trace_id = begin_trace()
    return trace_id


def success(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data, "error": None, "traceId": current_trace_id()}


def failure(code: str, message: str, details: str | None = None, trace_id: str | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "data": None,
        "error": {"code": code, "message": message, "details": details},
        "traceId": trace_id or current_trace_id(),
    }


def encode(body: dict[str, Any]) -> bytes:
    return compact(body)


async def send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """Answer in raw ASGI (from middleware or the ASGI endpoint) with a JSON body and its length."""
    await send_payload(send, status, encode(body), headers)


class WholeSend(ABC):
    """A `send` that may write a whole response at once, without its two ASGI messages (the fast path's, see
    fast_path.py): `send_payload` asks it first."""

    __slots__ = ()

    @abstractmethod
    async def __call__(self, message: Message) -> None:
        """The ASGI `send`, for whatever is not written whole."""

    @abstractmethod
    def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        """Write the response (headers as the app gives them, with its length); False: send the messages."""


async def send_payload(send: Send, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
    """Answer in raw ASGI with JSON already encoded (by whoever also journaled it)."""
    raw = [(b"content-type", JSON_BYTES), (b"content-length", str(len(payload)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    if isinstance(send, WholeSend) and send.whole(status, raw, payload):
        return
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def respond(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    """A finished Flask response, so connexion's pretty-printing serializer is skipped."""
    return Response(encode(body), status=status, headers=headers, mimetype=JSON)


def error_envelope(error: MockError) -> dict[str, Any]:
    """The failure envelope of one refusal, with this request's trace id."""
    return failure(error.code, error.message, error.details)
