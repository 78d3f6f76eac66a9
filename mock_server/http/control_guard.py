"""Control writes a web page cannot forge: JSON only, and never from a page of another origin.

Any web page can make the browser send a "simple" request (a form post, or `fetch` with `no-cors`) to
`localhost:8080` without asking first: `POST /__mock/reset` with `Content-Type: text/plain` once reset the
session of whoever opened the page. CORS only hides the answer; the write has happened. So every control
write (POST, PUT, DELETE, PATCH under /__mock/):

- that carries a body or a `Content-Type` must say `application/json`, which no simple request can
  (400 VALIDATION_ERROR, as for the API);
- that comes from a browser page of another origin (an `Origin` header that is not the mock's own and not
  a `--control-cors-origin`) is refused with 403 FORBIDDEN, whatever it carries: a body-less
  `fetch(url, {method: "POST", mode: "no-cors"})` has no content type to refuse.

Body-less writes from curl, scripts and test clients send no `Origin` and keep working as in WireMock
(`curl -X POST localhost:8080/__mock/reset`); so does the mock's own Swagger UI, which is same-origin.
Runs after the control-token check (401 first), as the contract orders 401, 403, then 400.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.config import MockConfig
from mock_server.domain.errors import MockError
from mock_server.http.cors import foreign_origin, is_control, origin_allowed, same_origin
from mock_server.http.envelope import error_envelope, send_json
from mock_server.http.routes import is_public_page

WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


def is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def check_control_write(headers: Headers, allowed_origins: tuple[str, ...]) -> None:
    """Raise the refusal a forged control write gets; return for a write a page could not have forged."""
    origin = headers.get("origin")
    if origin is not None and not same_origin(origin, headers.get("host")):
        if not origin_allowed(origin, allowed_origins):
            raise foreign_origin(origin, "change")
    content_type = headers.get("content-type")
    has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
    if content_type is None and not has_body:
        return
    if content_type is None or not is_json(content_type):
        raise MockError.named("validation", "Content-Type: must be application/json (control writes accept JSON only)")


class ControlWrites:
    def __init__(self, app: ASGIApp, config: MockConfig) -> None:
        self.app = app
        self.allowed_origins = config.control_cors_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in WRITES:
            path = scope["path"]
            if is_control(path) and not is_public_page(path):
                try:
                    check_control_write(Headers(scope=scope), self.allowed_origins)
                except MockError as exc:
                    await send_json(send, exc.status, error_envelope(exc), exc.headers)
                    return
        await self.app(scope, receive, send)
