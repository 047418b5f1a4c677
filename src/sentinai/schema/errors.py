"""Expected mutation failures, as schema types. Every mutation returns a union of its
success type and all of these, so clients handle failures the same way everywhere:
`... on MutationError { code message }`."""

from __future__ import annotations

import enum
from typing import TypeAlias

import strawberry
from strawberry.types.union import StrawberryUnion

from sentinai import errors


@strawberry.enum(name="ErrorCode", description="Stable machine-readable failure codes.")
class ErrorCode(enum.Enum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"


@strawberry.interface(name="MutationError", description="An expected failure; nothing was written.")
class MutationError:
    code: ErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(name="ValidationFailed", description="An input value is unacceptable.")
class ValidationFailed(MutationError):
    field: str = strawberry.field(description="The input field at fault, as a dotted path (e.g. `steps[1].name`).")


@strawberry.type(name="NotFound", description="No such object in your tenant.")
class NotFound(MutationError):
    pass


@strawberry.type(name="InvalidTransition", description="The object's current state does not allow this change.")
class InvalidTransition(MutationError):
    from_state: str = strawberry.field(description="The current state.")
    to_state: str = strawberry.field(description="The requested state.")


@strawberry.type(name="Forbidden", description="Your credential may not do this.")
class Forbidden(MutationError):
    pass


@strawberry.type(name="Conflict", description="Clashes with existing data (a taken name, a reused event id…).")
class Conflict(MutationError):
    pass


MutationErrors: TypeAlias = ValidationFailed | NotFound | InvalidTransition | Forbidden | Conflict
"""Every expected failure: the members each mutation's result union adds to its success type."""


def to_schema_error(error: errors.DomainError) -> MutationErrors:
    message = error.message
    if isinstance(error, errors.ValidationError):
        return ValidationFailed(code=ErrorCode.VALIDATION_FAILED, message=message, field=error.field)
    if isinstance(error, errors.NotFoundError):
        return NotFound(code=ErrorCode.NOT_FOUND, message=message)
    if isinstance(error, errors.InvalidTransitionError):
        return InvalidTransition(
            code=ErrorCode.INVALID_TRANSITION, message=message, from_state=error.from_state, to_state=error.to_state
        )
    if isinstance(error, errors.ConflictError):
        return Conflict(code=ErrorCode.CONFLICT, message=message)
    return Forbidden(code=ErrorCode.FORBIDDEN, message=message)


def result_union(name: str) -> StrawberryUnion:
    """The GraphQL union `name` of a mutation's result, declared as
    `<Name>Result: TypeAlias = Annotated[<Success> | MutationErrors, result_union("<Name>Result")]`."""
    return strawberry.union(name, description=f"Result of `{name[0].lower()}{name[1:-6]}`.")
