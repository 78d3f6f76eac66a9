"""Every failure leaves as a Sonarly envelope: ours (`MockError`), connexion's problems, Starlette's HTTP errors.

Each handler maps a foreign error onto an entry of the catalogue (mock_server/domain/errors.py), so no
status, code or message is typed here; an exception nobody expected is the catalogue's `internal` (500).
"""

from __future__ import annotations

import logging

from connexion.exceptions import (
    BadRequestProblem,
    OAuthProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from mock_server.domain.errors import MockError
from mock_server.http.envelope import JSON, encode, error_envelope
from mock_server.http.routes import allowed_methods
from mock_server.http.validation import problems_error

logger = logging.getLogger("sonarly_mock")
NO_TOKEN = "No authorization token provided"


def _respond(error: MockError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status, mimetype=JSON, body=encode(error_envelope(error)), headers=error.headers
    )


async def on_mock_error(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, MockError)
    return _respond(exc)


async def on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion's own problems, translated: auth is 401, every request-shape problem is 400."""
    assert isinstance(exc, ProblemException)
    if isinstance(exc, OAuthProblem):
        detail = exc.detail if exc.detail != NO_TOKEN else None
        return _respond(MockError.named("unauthorized", detail or "Send the header `Authorization: Bearer <api key>`."))
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return _respond(problems_error(request.scope, ["Content-Type: must be application/json"]))
    if isinstance(exc, BadRequestProblem) or 400 <= exc.status < 500:
        problem = "body: required (a JSON object)" if exc.detail == "RequestBody is required" else str(exc.detail)
        return _respond(problems_error(request.scope, [problem]))
    logger.error("unexpected problem: %r", exc)
    return _respond(MockError.named("internal"))


async def on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        return _respond(MockError.named("not_found", message=f"No route for {request.url.path}."))
    if status == 405:
        allow = ", ".join(allowed_methods(request.url.path)) or (exc.headers or {}).get("Allow", "")
        return _respond(
            MockError.named(
                "method_not_allowed",
                f"Allowed: {allow}" if allow else None,
                message=f"Method {request.method} is not allowed here.",
                headers={"Allow": allow} if allow else None,
            )
        )
    if 400 <= status < 500:
        return _respond(problems_error(request.scope, [str(exc.detail)]))
    return _respond(MockError.named("internal"))


async def on_unexpected(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error("unhandled error: %r", exc, exc_info=exc)
    return _respond(MockError.named("internal"))


ERROR_HANDLERS = (
    (MockError, on_mock_error),
    (ProblemException, on_problem),
    (HTTPException, on_http_exception),
    (Exception, on_unexpected),
)
