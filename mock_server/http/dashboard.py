"""The dashboard: `GET /__mock/` serves a page, shipped in the package, that drives the mock through the control API.

The page and its assets are public (like the control API's own docs): they hold no data. Everything they show
comes from control API calls the page makes with the user's control token and `X-Mock-Session`, so whatever the
dashboard can do, a script can do too, and the token rules stay in one place. The files are served from a fixed
directory by exact, checked names (no path ever reaches the file system unchecked), with a Content-Security-Policy
that allows nothing but this origin: the page may show journal bodies a stranger sent, and none of that may run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.http.docs import redirect
from mock_server.http.routes import CONTROL_BASE_PATH, DASHBOARD_ASSETS, DASHBOARD_HOME

FILES: Final = Path(__file__).resolve().parent.parent / "dashboard"
INDEX: Final = "index.html"
TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
ASSET_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]*\.(?:html|js|css|svg|png)")
SECURITY_HEADERS: Final = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # Read on every request (a few kB): a new version of the mock is seen at the next load, never a stale cache.
    (b"cache-control", b"no-cache"),
)


def dashboard_file(path: str) -> Path | None:
    """The file a dashboard path names, or None: `/__mock/` is the page, `/__mock/dashboard/<name>` an asset."""
    if path == DASHBOARD_HOME:
        name = INDEX
    elif path.startswith(DASHBOARD_ASSETS) and ASSET_NAME.fullmatch(path[len(DASHBOARD_ASSETS) :]):
        name = path[len(DASHBOARD_ASSETS) :]
    else:
        return None
    file = FILES / name
    return file if file.is_file() else None


class Dashboard:
    """Serve the dashboard's files; `/__mock` (no slash) leads to it. Everything else goes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            if scope["path"] == CONTROL_BASE_PATH:
                await redirect(send, DASHBOARD_HOME)
                return
            file = dashboard_file(scope["path"])
            if file is not None:
                await send_file(send, file, body=scope["method"] == "GET")
                return
        await self.app(scope, receive, send)


async def send_file(send: Send, file: Path, body: bool) -> None:
    content = file.read_bytes()
    headers = [
        (b"content-type", TYPES[file.suffix].encode()),
        (b"content-length", str(len(content)).encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content if body else b""})
