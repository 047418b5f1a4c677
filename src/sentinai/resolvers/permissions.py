"""Declarative guards. Every root field carries one (a test walks the schema to check)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from sentinai.domain.enums import ApiKeyRole

VIEWER, OPERATOR, AGENT, ADMIN = ApiKeyRole.VIEWER, ApiKeyRole.OPERATOR, ApiKeyRole.AGENT, ApiKeyRole.ADMIN


def _guard(name: str, roles: frozenset[ApiKeyRole], platform: bool, message: str) -> type[BasePermission]:
    def has_permission(self: BasePermission, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal.is_platform_admin:
            return platform
        return principal.role in roles

    return type(
        name,
        (BasePermission,),
        {"message": message, "has_permission": has_permission, "error_extensions": {"code": "FORBIDDEN"}},
    )


Authenticated = _guard("Authenticated", frozenset(ApiKeyRole), True, "authentication required")
CanRead = _guard("CanRead", frozenset(ApiKeyRole), False, "needs a tenant API key")
CanWrite = _guard("CanWrite", frozenset({OPERATOR, AGENT, ADMIN}), False, "needs an OPERATOR, AGENT or ADMIN key")
CanDecide = _guard(
    "CanDecide",
    frozenset({OPERATOR, ADMIN}),
    False,
    "only an OPERATOR or ADMIN may decide remediation plans (never an AGENT)",
)
CanAdminister = _guard("CanAdminister", frozenset({ADMIN}), False, "needs an ADMIN key")
PlatformAdmin = _guard("PlatformAdmin", frozenset(), True, "needs the platform-admin credential")

GUARDS = (Authenticated, CanRead, CanWrite, CanDecide, CanAdminister, PlatformAdmin)
