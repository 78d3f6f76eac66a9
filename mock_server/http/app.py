"""Builds the mock: connexion routes and validates from the two OpenAPI documents; our layers wrap it.

`CHECK_ORDER` is the order in which an API request is judged, in one table: the first step that refuses
answers. The stack is built from it (`OUTER_LAYERS` around connexion, `CONNEXION_LAYERS` inside), and
tests/http/test_order_of_checks.py holds both the stack and the mock's answers to the table. The contract
operation's fast path (mock_server/http/fast_path.py) keeps the order: it answers only a request that every
step before its answer accepts, and hands any other to this stack.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import connexion
import flask
import werkzeug.exceptions
from connexion.context import operation as connexion_operation
from connexion.middleware import MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from flask import Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from mock_server.config import MockConfig
from mock_server.domain.errors import DatabaseUnavailable
from mock_server.http.control_guard import ControlWrites
from mock_server.http.cors import AudienceCors
from mock_server.http.dashboard import Dashboard
from mock_server.http.docs import ServedDocs
from mock_server.http.envelope import respond, success
from mock_server.http.errors import ERROR_HANDLERS
from mock_server.http.fast_path import FastPath
from mock_server.http.gate import RequestGate
from mock_server.http.guards import Guards
from mock_server.http.handlers import OPERATIONS, ContractEndpoint
from mock_server.http.routes import CONTROL_BASE_PATH
from mock_server.http.runtime import Runtime
from mock_server.http.security import SECURITY_MAP
from mock_server.http.validation import VALIDATOR_MAP
from mock_server.logs import configure_logging
from mock_server.storage.sqlite_process import quiet_memory_statistics
from openapi import CONTRACT_SPEC, CONTROL_SPEC, SPEC_DIR


def _method_not_allowed(exc: werkzeug.exceptions.MethodNotAllowed) -> Any:
    """Keep the `Allow` header that connexion's own translation of Flask errors drops."""
    raise HTTPException(405, detail=exc.description, headers={"Allow": ", ".join(sorted(exc.valid_methods or ()))})


def _routed_by_connexion() -> None:
    """A path Flask matches but connexion's router did not (werkzeug and Starlette differ on odd paths)
    would run a view outside connexion's context, a 500; it is no route of ours: 404."""
    if flask.request.endpoint in PROBES:
        return
    try:
        connexion_operation.operation_id  # noqa: B018 - raises outside connexion's context
    except RuntimeError:
        raise werkzeug.exceptions.NotFound() from None


def _probes(runtime: Runtime) -> dict[str, Callable[[], Response]]:
    """Liveness and readiness, for a load balancer in front of a fleet. /healthz answers 200 while the process
    lives and says whether its database answers; /readyz is a 503 while it does not, so the balancer sends the
    traffic to replicas that can serve it (and a restarted database brings them back by itself)."""

    def database() -> dict[str, Any]:
        store = runtime.store
        return {"engine": store.engine, "location": store.location, "reachable": store.reachable()}

    def healthz() -> Response:
        return respond(success({"status": "ok", "database": database()}), 200)

    def readyz() -> Response:
        state = database()
        if not state["reachable"]:
            raise DatabaseUnavailable()
        return respond(success({"status": "ready", "database": state}), 200)

    return {"healthz": healthz, "readyz": readyz}


PROBES = ("healthz", "readyz")


@dataclass(frozen=True, slots=True)
class Check:
    """One step of judging an API request: what it decides, what a refusal answers, which layer decides."""

    decides: str
    answer: str
    layer: type


CHECK_ORDER: tuple[Check, ...] = (
    Check("X-Mock-Session names a session (whose keys authenticate)", "400 VALIDATION_ERROR", Guards),
    Check("the API key is known and not revoked", "401 UNAUTHORIZED", SecurityMiddleware),
    Check("the key has messages:write on this account group", "403 FORBIDDEN", SecurityMiddleware),
    Check("the session exists or fits under --max-sessions", "429 RATE_LIMITED", SecurityMiddleware),
    Check("the key is under its rate limit", "429 RATE_LIMITED + Retry-After", RequestGate),
    Check("an injected fault matches", "its status, latency or broken connection", RequestGate),
    Check("Prefer: code=/example= names a documented example", "that example", RequestGate),
    Check("parameters, media type and body follow the contract", "400 VALIDATION_ERROR", RequestValidationMiddleware),
    Check(
        "Idempotency-Key: bound to this body, or to another", "202 replay / 409 IDEMPOTENCY_CONFLICT", ContractEndpoint
    ),
    Check("the prospect and conversation exist", "422 VALIDATION_ERROR", ContractEndpoint),
    Check(
        "the prospect's state allows the channel", "409 PROSPECT_NOT_CONNECTED / INMAIL_NOT_ELIGIBLE", ContractEndpoint
    ),
    Check("a slot in sending hours, after the gap, under the cap", "202 queued / scheduled", ContractEndpoint),
)

# Our layers inside connexion, each placed right before the connexion layer that must come after it.
CONNEXION_LAYERS: dict[type, MiddlewarePosition] = {
    RequestGate: MiddlewarePosition.BEFORE_VALIDATION,
    ContractEndpoint: MiddlewarePosition.BEFORE_CONTEXT,
}


def stack(app: Any) -> list[type]:
    """Every layer a request passes, outermost first: our wrappers, then connexion's middleware list."""
    layers: list[type] = []
    while not isinstance(app, connexion.FlaskApp):
        layers.append(type(app))
        app = app.app
    return layers + [type_of(m) for m in app.middleware.middlewares]


def type_of(middleware: Any) -> type:
    """Connexion keeps a middleware added with options as a `functools.partial` of its class."""
    layer: Any = middleware.func if isinstance(middleware, partial) else middleware
    return type(layer) if not isinstance(layer, type) else layer


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
    options: dict[type, dict[str, Any]] = {ContractEndpoint: {"enabled": not runtime.config.flask_handlers}}
    for layer, position in CONNEXION_LAYERS.items():
        app.add_middleware(layer, position=position, **options.get(layer, {}))
    for exception, handler in ERROR_HANDLERS:
        app.add_error_handler(exception, handler)
    app.app.register_error_handler(werkzeug.exceptions.MethodNotAllowed, _method_not_allowed)
    for name, view in _probes(runtime).items():
        app.add_url_rule(f"/{name}", name, view)
    app.app.before_request(_routed_by_connexion)
    return app


def create_app(config: MockConfig | None = None) -> ASGIApp:
    """The whole mock as one ASGI app: CORS per audience outside, then guards (trace, session, control
    token), then forged control writes refused, then the docs' `servers` and `/`, the dashboard, then connexion."""
    config = config or MockConfig()
    runtime = Runtime.start(config)
    app: ASGIApp = build_connexion_app(runtime)
    for wrap in reversed(OUTER_LAYERS):
        app = wrap(app, runtime)
    return app


# Around connexion, outermost first: the contract operation's compiled fast path (FastPath, which takes only the
# requests the layers after it would all pass, and does their part itself), then CORS per audience (API or
# control), then trace ids, the session and the hostile-input guards (Guards), then forged control writes refused,
# then the served docs' `servers` and `/`, then the dashboard's files.
OUTER_LAYERS: tuple[Callable[[ASGIApp, Runtime], ASGIApp], ...] = (
    FastPath.around,
    lambda app, runtime: AudienceCors(app, runtime.config),
    Guards,
    lambda app, runtime: ControlWrites(app, runtime.config),
    lambda app, _: ServedDocs(app),
    lambda app, _: Dashboard(app),
)


def app_from_environment() -> ASGIApp:
    """Factory for uvicorn workers, which rebuild the app from the config the CLI put in the environment
    (each worker is its own process, so it sets up its own logging)."""
    config = MockConfig.from_environment()
    configure_logging(config.log_level, config.log_format)
    quiet_memory_statistics()  # before the first connection of the process; see sqlite_process
    app = create_app(config)
    settle_garbage_collector()
    return app


def settle_garbage_collector() -> None:
    """Move everything start-up built (connexion's parsed documents, validators, routes: hundreds of thousands of
    objects that live as long as the process) out of the collector's sight. Otherwise each full collection walks
    them all: about 80 ms, every few thousand requests, a quarter of an accepted request's CPU on average and the
    worst of its p99 (bench/RESULTS.md). Only for a served process: tests that build many apps in one process
    must keep their garbage collectable."""
    gc.collect()
    gc.freeze()
