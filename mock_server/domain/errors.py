"""One error tree and one catalogue for every refusal the mock answers (after httpx's exception tree and
Prism's error templates): an error is a catalogue entry, used by name, plus the details of this request.

    MockError(status, code, message, details, headers)    any refusal; the HTTP layer renders the envelope
    ├── Unauthenticated         401 UNAUTHORIZED            no usable API key
    ├── AccessDenied            403 FORBIDDEN               a valid key that may not do this
    ├── InvalidFixtures         400 VALIDATION_ERROR        fixtures or configuration out of bounds
    ├── UnknownData             422 VALIDATION_ERROR        a rule that needs stored data
    ├── ProspectNotConnected    409 PROSPECT_NOT_CONNECTED  the prospect's state
    ├── InmailNotEligible       409 INMAIL_NOT_ELIGIBLE     the prospect's state
    ├── IdempotencyConflict     409 IDEMPOTENCY_CONFLICT    same key, another body
    ├── NoSlotAvailable         500 INTERNAL_ERROR          unreachable with valid fixtures
    ├── DatabaseUnavailable     503 SERVICE_UNAVAILABLE     the fleet's PostgreSQL is down or restarting
    └── StorageFull             503 SERVICE_UNAVAILABLE     SQLite cannot grow: the in-memory cap, a full disk

The domain raises the subclasses; the HTTP layer raises `MockError.named(...)`. A test holds every code of
the catalogue to the enums of the two OpenAPI documents, so the mock cannot emit a code the contract lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ErrorTemplate:
    status: int
    code: str
    message: str


VALIDATION_MESSAGE = "The request is not valid."

CATALOGUE: dict[str, ErrorTemplate] = {
    "validation": ErrorTemplate(400, "VALIDATION_ERROR", VALIDATION_MESSAGE),
    "invalid_http": ErrorTemplate(400, "VALIDATION_ERROR", "The request is not valid HTTP/1.1."),
    "invalid_fixtures": ErrorTemplate(400, "VALIDATION_ERROR", "The fixtures are not valid."),
    "unauthorized": ErrorTemplate(401, "UNAUTHORIZED", "A valid API key is required."),
    "control_unauthorized": ErrorTemplate(401, "UNAUTHORIZED", "The control API needs the control token."),
    "forbidden": ErrorTemplate(403, "FORBIDDEN", "This API key may not do this."),
    "not_found": ErrorTemplate(404, "NOT_FOUND", "There is nothing here."),
    "method_not_allowed": ErrorTemplate(405, "METHOD_NOT_ALLOWED", "This method is not allowed here."),
    "prospect_not_connected": ErrorTemplate(
        409,
        "PROSPECT_NOT_CONNECTED",
        "The prospect is not connected or has no existing chat; use inmail to start a conversation.",
    ),
    "inmail_not_eligible": ErrorTemplate(
        409, "INMAIL_NOT_ELIGIBLE", "The prospect is not eligible for a new InMail conversation."
    ),
    "idempotency_conflict": ErrorTemplate(
        409, "IDEMPOTENCY_CONFLICT", "This Idempotency-Key was already used with a different request body."
    ),
    "unknown_data": ErrorTemplate(422, "VALIDATION_ERROR", "The request refers to data that does not exist."),
    "rate_limited": ErrorTemplate(429, "RATE_LIMITED", "Too many requests for this API key."),
    "internal": ErrorTemplate(500, "INTERNAL_ERROR", "An internal error occurred."),
    "upstream": ErrorTemplate(502, "UPSTREAM_ERROR", "An upstream service did not answer."),
    "unavailable": ErrorTemplate(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
    "storage_full": ErrorTemplate(503, "SERVICE_UNAVAILABLE", "The mock's storage is full."),
    "gateway_timeout": ErrorTemplate(504, "GATEWAY_TIMEOUT", "The gateway timed out waiting for the service."),
}


class MockError(Exception):
    """Root of every refusal: a status, a code and a message, plus this request's details and headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(details or message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    @property
    def status_code(self) -> int:
        """Starlette's name for `status`, for code that handles both kinds of error."""
        return self.status

    @classmethod
    def named(
        cls,
        name: str,
        details: str | None = None,
        *,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> MockError:
        """The catalogue entry `name` with this request's details (and a more precise message, if any)."""
        template = CATALOGUE[name]
        return MockError(template.status, template.code, message or template.message, details, headers)


class CatalogueError(MockError):
    """A domain error that is exactly one catalogue entry; raise it with the details of the case."""

    template: ClassVar[str] = "validation"

    def __init__(
        self, details: str | None = None, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        template = CATALOGUE[self.template]
        super().__init__(template.status, template.code, message or template.message, details, headers)


class Unauthenticated(CatalogueError):
    template = "unauthorized"


class AccessDenied(CatalogueError):
    template = "forbidden"


class InvalidFixtures(CatalogueError):
    template = "invalid_fixtures"


class UnknownData(CatalogueError):
    template = "unknown_data"


class ProspectNotConnected(CatalogueError):
    template = "prospect_not_connected"


class InmailNotEligible(CatalogueError):
    template = "inmail_not_eligible"


class IdempotencyConflict(CatalogueError):
    template = "idempotency_conflict"


class NoSlotAvailable(CatalogueError):
    """Unreachable with valid fixtures (at least one sending day, caps of at least 1): a server fault."""

    template = "internal"


def validation_error(details: str, message: str = VALIDATION_MESSAGE) -> MockError:
    """The 400 every request-shape problem gets; `details` names the field(s) in plain words."""
    return MockError.named("validation", details, message=message)


class DatabaseUnavailable(CatalogueError):
    """The store's database did not answer (down, restarting, out of connections): retry shortly. A retry with
    the same Idempotency-Key replays the request if its transaction did commit, so nothing is scheduled twice."""

    template = "unavailable"

    def __init__(self, retry_after: float = 1.0) -> None:
        seconds = max(1, round(retry_after))
        super().__init__(
            f"The mock's database did not answer. Retry after {seconds} s with the same Idempotency-Key: "
            "a request that was kept is replayed, never scheduled twice.",
            headers={"Retry-After": str(seconds)},
        )


class StorageFull(CatalogueError):
    """SQLite refused to grow the database (SQLITE_FULL): an in-memory state at its cap, or the disk of a state
    file full. Nothing of the refused request is kept, reads still work, and deleting sessions makes room; a
    retry as such would only meet the same wall, so no Retry-After."""

    template = "storage_full"
