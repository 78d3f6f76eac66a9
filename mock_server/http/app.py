"""Builds the mock: connexion routes and validates from the two OpenAPI documents; our layers wrap it."""

from __future__ import annotations

from typing import Any

import connexion
import flask
import werkzeug.exceptions
from connexion.context import operation as connexion_operation
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from flask import Response
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from mock_server.config import MockConfig
from mock_server.http.envelope import respond, success
from mock_server.http.errors import ERROR_HANDLERS
from mock_server.http.gate import RequestGate
from mock_server.http.guards import Guards
from mock_server.http.handlers import OPERATIONS, ContractEndpoint
from mock_server.http.routes import CONTROL_BASE_PATH
from mock_server.http.runtime import Runtime
from mock_server.http.security import SECURITY_MAP
from mock_server.http.validation import VALIDATOR_MAP
from openapi import CONTRACT_SPEC, CONTROL_SPEC, SPEC_DIR

CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Mock-Session", "Prefer"]
CORS_EXPOSED_HEADERS = ["Idempotent-Replayed", "Retry-After", "X-Trace-Id"]


def _method_not_allowed(exc: werkzeug.exceptions.MethodNotAllowed) -> Any:
    """Keep the `Allow` header that connexion's own translation of Flask errors drops."""
    raise HTTPException(405, detail=exc.description, headers={"Allow": ", ".join(sorted(exc.valid_methods or ()))})


def _routed_by_connexion() -> None:
    """A path Flask matches but connexion's router did not (werkzeug and Starlette differ on odd paths)
    would run a view outside connexion's context, a 500; it is no route of ours: 404."""
    if flask.request.endpoint == "healthz":
        return
    try:
        connexion_operation.operation_id  # noqa: B018 - raises outside connexion's context
    except RuntimeError:
        raise werkzeug.exceptions.NotFound() from None


def _healthz() -> Response:
    return respond(success({"status": "ok"}), 200)


def build_connexion_app(runtime: Runtime) -> connexion.FlaskApp:
    app = connexion.FlaskApp(
        __name__,
        specification_dir=SPEC_DIR,
        security_map=SECURITY_MAP,
        validator_map=VALIDATOR_MAP,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True),
    )
    app.app.url_map.merge_slashes = False  # route `//` exactly as connexion's router does (not at all)
    app.add_api(CONTRACT_SPEC.name, resolver=Resolver(function_resolver=OPERATIONS.__getitem__))
    app.add_api(CONTROL_SPEC.name, base_path=CONTROL_BASE_PATH)
    app.add_middleware(RequestGate, position=MiddlewarePosition.BEFORE_VALIDATION)
    app.add_middleware(
        ContractEndpoint, position=MiddlewarePosition.BEFORE_CONTEXT, enabled=not runtime.config.flask_handlers
    )
    for exception, handler in ERROR_HANDLERS:
        app.add_error_handler(exception, handler)
    app.app.register_error_handler(werkzeug.exceptions.MethodNotAllowed, _method_not_allowed)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.app.before_request(_routed_by_connexion)
    return app


def create_app(config: MockConfig | None = None) -> ASGIApp:
    """The whole mock as one ASGI app: CORS outside, then guards, then connexion."""
    config = config or MockConfig()
    runtime = Runtime.start(config)
    guarded = Guards(build_connexion_app(runtime), runtime)
    return CORSMiddleware(
        guarded,
        allow_origins=list(config.cors_origins),
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=CORS_ALLOWED_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        max_age=600,
    )


def app_from_environment() -> ASGIApp:
    """Factory for uvicorn workers, which rebuild the app from the config the CLI put in the environment."""
    return create_app(MockConfig.from_environment())
