"""Domain failures, each carrying the status and error code the contract assigns to it."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the contract refused the request; the HTTP layer renders it as an envelope."""

    status: int = 400
    code: str = "VALIDATION_ERROR"
    message: str = "The request was refused."

    def __init__(self, details: str | None = None, message: str | None = None) -> None:
        super().__init__(details or self.message)
        self.details = details
        if message is not None:
            self.message = message


class UnknownData(DomainError):
    status = 422
    code = "VALIDATION_ERROR"
    message = "The request refers to data that does not exist."


class ProspectNotConnected(DomainError):
    status = 409
    code = "PROSPECT_NOT_CONNECTED"
    message = "The prospect is not connected or has no existing chat; use inmail to start a conversation."


class InmailNotEligible(DomainError):
    status = 409
    code = "INMAIL_NOT_ELIGIBLE"
    message = "The prospect is not eligible for a new InMail conversation."


class IdempotencyConflict(DomainError):
    status = 409
    code = "IDEMPOTENCY_CONFLICT"
    message = "This Idempotency-Key was already used with a different request body."


class InvalidFixtures(DomainError):
    status = 400
    code = "VALIDATION_ERROR"
    message = "The fixtures are not valid."


class NoSlotAvailable(DomainError):
    """Unreachable with valid fixtures (at least one sending day, caps of at least 1): a server fault."""

    status = 500
    code = "INTERNAL_ERROR"
    message = "The account group's schedule has no sending slot in the next year."
