"""Declarative guards. Every root field carries one (a test walks the schema to check).

Both read paths decide with the same `Guard.allows`: graphql-core's through Strawberry's
permission extension (`has_permission`), the one-statement planner through `permitted` on the
very permission classes the field declares. Changing a guard's roles changes both.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from strawberry import Info
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField

from sentinai.auth import Principal
from sentinai.context import Context
from sentinai.domain.enums import ApiKeyRole
from sentinai.schema.errors import ErrorCode, Forbidden

VIEWER, OPERATOR, AGENT, ADMIN = ApiKeyRole.VIEWER, ApiKeyRole.OPERATOR, ApiKeyRole.AGENT, ApiKeyRole.ADMIN


class Guard(BasePermission):
    """Tenant keys of `roles` may pass; the platform admin may when `platform` is true."""

    roles: ClassVar[frozenset[ApiKeyRole]]
    platform: ClassVar[bool]
    error_extensions = {"code": "FORBIDDEN"}

    @classmethod
    def allows(cls, principal: Principal) -> bool:
        if principal.is_platform_admin:
            return cls.platform
        return principal.role in cls.roles

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return self.allows(info.context.principal)


@cache
def answered(guard: type[Guard]) -> type[Guard]:
    """`guard` for a mutation: a refused caller gets the `Forbidden` member of the mutation's
    result union, as the schema declares, instead of a top-level error. It inherits the guard's
    roles, so changing the guard changes it too."""

    def on_unauthorized(self: Guard) -> Forbidden:
        return Forbidden(code=ErrorCode.FORBIDDEN, message=self.message or "forbidden")

    return type(guard.__name__, (guard,), {"on_unauthorized": on_unauthorized})


def permitted(field: StrawberryField, principal: Principal) -> bool:
    """Whether `principal` passes every guard `field` declares (what its permission extension decides)."""
    return all(issubclass(guard, Guard) and guard.allows(principal) for guard in field.permission_classes)


class Authenticated(Guard):
    roles, platform, message = frozenset(ApiKeyRole), True, "authentication required"


class CanRead(Guard):
    roles, platform, message = frozenset(ApiKeyRole), False, "needs a tenant API key"


class CanWrite(Guard):
    roles, platform, message = frozenset({OPERATOR, AGENT, ADMIN}), False, "needs an OPERATOR, AGENT or ADMIN key"


class CanDecide(Guard):
    roles, platform = frozenset({OPERATOR, ADMIN}), False
    message = "only an OPERATOR or ADMIN may decide remediation plans (never an AGENT)"


class CanAdminister(Guard):
    roles, platform, message = frozenset({ADMIN}), False, "needs an ADMIN key"


class PlatformAdmin(Guard):
    roles, platform, message = frozenset(), True, "needs the platform-admin credential"


GUARDS = (Authenticated, CanRead, CanWrite, CanDecide, CanAdminister, PlatformAdmin)
