"""Who a transaction acts as: the role and tenant set at its start, local to it.

Every transaction the service opens starts with one statement that switches to a
NOLOGIN role and, for tenant requests, sets `app.tenant_id`. Both are transaction-local
(`set_config(..., true)`), so nothing survives into the next checkout of a pooled
connection; row-level security reads the tenant back through `sentinai_current_tenant()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

APP_ROLE = "sentinai_app"
PLATFORM_ROLE = "sentinai_platform"
AUTH_ROLE = "sentinai_auth"


@dataclass(frozen=True)
class Scope:
    """The database identity of one unit of work."""

    role: str
    tenant_id: str | None = None

    @classmethod
    def tenant(cls, tenant_id: str) -> Scope:
        if not tenant_id:
            raise ValueError("a tenant scope needs a tenant id")
        return cls(APP_ROLE, tenant_id)

    @classmethod
    def platform(cls) -> Scope:
        return cls(PLATFORM_ROLE)

    @classmethod
    def authentication(cls) -> Scope:
        return cls(AUTH_ROLE)

    @classmethod
    def maintenance(cls) -> Scope:
        """The connection's own login (`SET ROLE NONE`): only for operator commands that run
        with the schema owner's URL, such as verifying every tenant's hash chains."""
        return cls("none")


_ENTER_SCOPE = text("SELECT set_config('role', :role, true), set_config('app.tenant_id', :tenant_id, true)")


async def enter_scope(session: AsyncSession, scope: Scope) -> None:
    await session.execute(_ENTER_SCOPE, {"role": scope.role, "tenant_id": scope.tenant_id or ""})


def entering_scope_text(scope: Scope) -> str:
    """`enter_scope`'s statement with its values written in, for a simple-protocol message (which
    carries no parameters; `db.direct` sends it with BEGIN in one round trip)."""
    role, tenant = _literal(scope.role), _literal(scope.tenant_id or "")
    return f"SELECT set_config('role', {role}, true), set_config('app.tenant_id', {tenant}, true)"


def _literal(value: str) -> str:
    """An escape-string literal: its meaning does not depend on `standard_conforming_strings`."""
    if "\x00" in value:
        raise ValueError("a NUL cannot be in a PostgreSQL string")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
