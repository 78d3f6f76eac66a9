"""CORS for two audiences: frontends call the API from any origin they like, the control API is same-origin.

The API answers the origins of `--cors-origin` (any by default: a frontend on its dev server needs it).
The control API hands out every fixture, API keys included, and resets sessions, so by default no other
origin gets `Access-Control-Allow-Origin` and no preflight from another origin is approved (a 403
envelope instead); `--control-cors-origin ORIGIN` opts a dashboard in. The mock's own Swagger UI is
same-origin and needs none of this.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.config import MockConfig
from mock_server.domain.errors import MockError
from mock_server.http.envelope import error_envelope, send_json
from mock_server.http.routes import CONTROL_BASE_PATH, CONTROL_PREFIX

ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Mock-Session", "Prefer"]
EXPOSED_HEADERS = ["Idempotent-Replayed", "Retry-After", "X-Trace-Id"]
METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
ORIGIN = re.compile(r"https?://[^/\s?#@]+", re.IGNORECASE)
SHOWN_ORIGIN = 200


def invalid_origin(value: str) -> str | None:
    """Why `value` cannot be an allowed origin (None if it can): browsers send `scheme://host[:port]` exactly."""
    if value == "*" or ORIGIN.fullmatch(value):
        return None
    return f"{value!r} is not an origin: use scheme://host[:port] (no path, no trailing slash) or *"


def origin_allowed(origin: str, allowed: Iterable[str]) -> bool:
    allowed = tuple(allowed)
    return "*" in allowed or origin in allowed


def same_origin(origin: str, host: str | None) -> bool:
    """Whether a browser's `Origin` names the host the request was sent to (a page the mock itself served)."""
    _, _, netloc = origin.partition("://")
    return host is not None and netloc.lower() == host.lower()


def is_control(path: str) -> bool:
    return path == CONTROL_BASE_PATH or path.startswith(CONTROL_PREFIX)


def shown(origin: str) -> str:
    return origin if len(origin) <= SHOWN_ORIGIN else origin[:SHOWN_ORIGIN] + "..."


class AudienceCors:
    """Starlette's CORS for the API; for the control API only the opted-in origins, and refusals as envelopes."""

    def __init__(self, app: ASGIApp, config: MockConfig) -> None:
        self.app = app
        self.control_origins = config.control_cors_origins
        self.control_hosts = config.control_hosts
        self.api = self._cors(app, config.cors_origins)
        self.control = self._cors(app, config.control_cors_origins)

    @staticmethod
    def _cors(app: ASGIApp, origins: Iterable[str]) -> CORSMiddleware:
        return CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_control(scope["path"]):
            if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
                await self.app(scope, receive, vary_origin(send))  # no browser asked: no CORS to decide
            else:
                await self.api(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.control_hosts is not None and not host_allowed(headers.get("host"), self.control_hosts):
            await refuse(send, foreign_host(headers.get("host") or ""))
            return
        origin = headers.get("origin")
        if origin is None or same_origin(origin, headers.get("host")):
            await self.app(scope, receive, send)
        elif origin_allowed(origin, self.control_origins):
            await self.control(scope, receive, send)
        elif scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await refuse(send, foreign_origin(origin, "call"))
        else:
            await self.app(scope, receive, send)  # answered, but without CORS headers the page cannot read it


def vary_origin(send: Send) -> Send:
    """What Starlette's CORS does to the response of a request without `Origin`: `Vary: Origin`, joined with any
    `Vary` the app set (in the first one's place), so a cache never serves it to a page that sends an Origin.
    Done here without Starlette's per-message header objects, on every API request that no browser sent."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": with_vary_origin(list(message.get("headers", [])))}
        await send(message)

    return sending


def with_vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` (changed in place) with `Origin` joined into their `Vary` as `vary_origin` joins it; for a
    response the fast path writes whole, without the ASGI messages."""
    at = [i for i, (name, _) in enumerate(headers) if name.lower() == b"vary"]
    value = b", ".join([*(headers[i][1] for i in at), b"Origin"])
    for i in reversed(at[1:]):
        del headers[i]
    if at:
        headers[at[0]] = (b"vary", value)
    else:
        headers.append((b"vary", value))
    return headers


def foreign_origin(origin: str, verb: str) -> MockError:
    return MockError.named(
        "forbidden",
        f"Origin: {shown(origin)} is not allowed on /__mock/ (same-origin by default); "
        f"start the mock with --control-cors-origin {shown(origin)} to allow it",
        message=f"Pages of other origins may not {verb} the control API.",
    )


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_allowed(host: str | None, allowed: Iterable[str]) -> bool:
    """Whether a `Host` header names one of `allowed` or a loopback address."""
    if not host:
        return False
    name = host_name(host)
    try:
        return ipaddress.ip_address(name).is_loopback or name in allowed
    except ValueError:
        return name in allowed


def host_name(host: str) -> str:
    """A `Host` header without its port: `localhost:8080` -> `localhost`, `[::1]:8080` -> `::1`."""
    if host.startswith("[") and "]" in host:
        return host[1 : host.index("]")].lower()
    if host.count(":") == 1:
        return host.partition(":")[0].lower()
    return host.lower()


def foreign_host(host: str) -> MockError:
    return MockError.named(
        "forbidden",
        f"Host: {shown(host)} is not a name this mock listens on; the control API answers to "
        "localhost and loopback addresses (add a name with --control-host NAME, or set --control-token)",
        message="The control API answers only to the names the mock listens on.",
    )


async def refuse(send: Send, error: MockError) -> None:
    """An envelope from outside the trace layer, so it brings its own `X-Trace-Id`."""
    body = error_envelope(error)
    await send_json(send, error.status, body, {**error.headers, "X-Trace-Id": body["traceId"]})
