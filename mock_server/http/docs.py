"""The mock's own documentation: `/` leads to it, and the served specs point "Try it out" at this mock.

Connexion serves each document with `servers` replaced by its base path (`""` for the API, which Swagger
UI cannot use as a server, `/__mock` for the control API). Here the first server is this mock, as a
relative URL (`/`, `/__mock`): Swagger UI resolves it against the page it loaded the document from, so it
works on any host, port or proxy. The contract's other servers (production) stay listed after it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.http.routes import CONTROL_BASE_PATH
from openapi import CONTRACT_SPEC

DOCS_HOME = "/ui/"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
THIS_MOCK: dict[str, list[dict[str, str]]] = {
    "": [{"url": "/", "description": "This mock (the server that served this document)"}],
    CONTROL_BASE_PATH: [{"url": CONTROL_BASE_PATH, "description": "This mock's control API"}],
}
DOCUMENTS = {f"{base}/openapi.{ext}": (base, ext) for base in THIS_MOCK for ext in ("json", "yaml")}


@cache
def other_servers() -> tuple[dict[str, str], ...]:
    """The contract's servers that are not a local mock (production), listed after this mock."""
    spec = yaml.safe_load(CONTRACT_SPEC.read_text(encoding="utf-8"))
    return tuple(s for s in spec.get("servers", []) if urlsplit(s["url"]).hostname not in LOCAL_HOSTS)


def servers_for(base: str) -> list[dict[str, Any]]:
    return [*THIS_MOCK[base], *(other_servers() if base == "" else ())]


class ServedDocs:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
        elif scope["path"] == "/":
            await redirect(send, DOCS_HOME)
        elif scope["path"] in DOCUMENTS and scope["method"] == "GET":
            await self.app(scope, receive, with_servers(send, *DOCUMENTS[scope["path"]]))
        else:
            await self.app(scope, receive, send)


def with_servers(send: Send, base: str, ext: str) -> Send:
    """Buffer connexion's document (a few hundred KB at most, and only for the docs) and rewrite `servers`."""
    start: list[Message] = []
    chunks: list[bytes] = []

    async def rewriting(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.append(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        response, body = start[0], b"".join(chunks)
        if response["status"] == 200:
            body = rewrite(body, base, ext)
        headers = [(k, v) for k, v in response.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**response, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return rewriting


def rewrite(body: bytes, base: str, ext: str) -> bytes:
    if ext == "json":
        document = json.loads(body)
        document["servers"] = servers_for(base)
        return json.dumps(document).encode("utf-8")
    document = yaml.safe_load(body)
    document["servers"] = servers_for(base)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")


async def redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 302,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
