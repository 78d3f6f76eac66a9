"""Every failure leaves as a Sonarly envelope: connexion's problems, Starlette's HTTP errors, ours."""

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

from mock_server.domain.access import AccessDenied
from mock_server.domain.errors import DomainError
from mock_server.http.envelope import JSON, EnvelopeError, encode
from mock_server.http.routes import allowed_methods
from mock_server.http.validation import problems_error

logger = logging.getLogger("sonarly_mock")


def _respond(error: EnvelopeError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status_code, mimetype=JSON, body=encode(error.body()), headers=error.headers
    )


async def on_envelope_error(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, EnvelopeError)
    return _respond(exc)


async def on_domain_error(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, DomainError)
    return _respond(EnvelopeError(exc.status, exc.code, exc.message, exc.details))


async def on_access_denied(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    return _respond(EnvelopeError(403, "FORBIDDEN", str(exc)))


async def on_problem(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion's own problems, translated: auth is 401, every request-shape problem is 400."""
    assert isinstance(exc, ProblemException)
    if isinstance(exc, OAuthProblem):
        detail = exc.detail if exc.detail != "No authorization token provided" else None
        return _respond(
            EnvelopeError(
                401,
                "UNAUTHORIZED",
                "A valid API key is required.",
                detail or "Send the header `Authorization: Bearer <api key>`.",
            )
        )
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return _respond(problems_error(["Content-Type: must be application/json"]))
    if isinstance(exc, BadRequestProblem) or 400 <= exc.status < 500:
        problem = "body: required (a JSON object)" if exc.detail == "RequestBody is required" else str(exc.detail)
        return _respond(problems_error([problem]))
    logger.error("unexpected problem: %r", exc)
    return _respond(EnvelopeError(500, "INTERNAL_ERROR", "An internal error occurred."))


async def on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        return _respond(EnvelopeError(404, "NOT_FOUND", f"No route for {request.url.path}.", None))
    if status == 405:
        allow = ", ".join(allowed_methods(request.url.path)) or (exc.headers or {}).get("Allow", "")
        return _respond(
            EnvelopeError(
                405,
                "METHOD_NOT_ALLOWED",
                f"Method {request.method} is not allowed here.",
                f"Allowed: {allow}" if allow else None,
                headers={"Allow": allow} if allow else None,
            )
        )
    if 400 <= status < 500:
        return _respond(problems_error([str(exc.detail)]))
    return _respond(EnvelopeError(500, "INTERNAL_ERROR", "An internal error occurred."))


async def on_unexpected(_: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error("unhandled error: %r", exc, exc_info=exc)
    return _respond(EnvelopeError(500, "INTERNAL_ERROR", "An internal error occurred."))


ERROR_HANDLERS = (
    (EnvelopeError, on_envelope_error),
    (DomainError, on_domain_error),
    (AccessDenied, on_access_denied),
    (ProblemException, on_problem),
    (HTTPException, on_http_exception),
    (Exception, on_unexpected),
)
