"""Stateful mock of Sonarly's "Queue a scheduled message response" endpoint, driven by its contract.

The public API, for tests and tools that embed the mock instead of running `sonarly-mock serve`:

    from mock_server import MockConfig, create_app
    app = create_app(MockConfig(rate_limit="off"))   # an ASGI app: serve it with uvicorn, or test it with httpx

`create_app` is imported on first use, so `import mock_server.domain...` (the HTTP-free domain) does not load
connexion, Flask and Starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server.config import MockConfig

if TYPE_CHECKING:
    from mock_server.http.app import create_app

__all__ = ["MockConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mock_server.http.app import create_app

        return create_app
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
