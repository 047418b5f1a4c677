"""Expected failures: small domain errors that the API turns into typed results.

Anything that is not one of these is unexpected, and is masked before it reaches a client.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure. `code` is stable and part of the API contract."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """An input value is unacceptable; `field` names it as the client sent it (dotted path)."""

    code = "VALIDATION_FAILED"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class NotFoundError(DomainError):
    """Nothing with this id exists for the caller's tenant (another tenant's reads the same)."""

    code = "NOT_FOUND"

    def __init__(self, kind: str, identifier: object) -> None:
        super().__init__(f"{kind} {identifier!s} was not found")
        self.kind = kind
        self.identifier = str(identifier)


class InvalidTransitionError(DomainError):
    code = "INVALID_TRANSITION"

    def __init__(self, from_state: str, to_state: str, what: str = "exception") -> None:
        super().__init__(f"{what} cannot move from {from_state} to {to_state}")
        self.from_state = from_state
        self.to_state = to_state


class ForbiddenError(DomainError):
    code = "FORBIDDEN"


class ConflictError(DomainError):
    code = "CONFLICT"


class AuthenticationError(DomainError):
    code = "UNAUTHENTICATED"
