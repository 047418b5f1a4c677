"""The caller, tenants, API keys, the audit log, and global-id lookups."""

from __future__ import annotations

import uuid
from typing import Annotated, TypeAlias, TypeVar

import strawberry
from strawberry import Info, relay

from sentinai.auth import Principal
from sentinai.catalog import NODE_KINDS
from sentinai.context import Context
from sentinai.domain import validation
from sentinai.domain.enums import ApiKeyRole
from sentinai.errors import ValidationError
from sentinai.repositories.audit import AuditFilter
from sentinai.repositories.pagination import page_size
from sentinai.resolvers.mutations import Input, run_mutation
from sentinai.resolvers.permissions import Authenticated, CanAdminister, CanRead, PlatformAdmin, answered
from sentinai.schema.connections import Connection, connection
from sentinai.schema.enums import TenantStatus
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.tenants import (
    ApiKeySuccess,
    ApiKeyType,
    AuditEntryType,
    AuditLogFilter,
    CreateApiKeyInput,
    CreateTenantInput,
    HistoryVerification,
    RevokeApiKeyInput,
    SetTenantStatusInput,
    TenantSuccess,
    TenantType,
    Viewer,
)
from sentinai.services import configuration

T = TypeVar("T")

# Who may see which node types through `node`: the same rules as their list fields.
PLATFORM_NODE_TYPES = frozenset({"Tenant", "DomainPack"})
ADMIN_NODE_TYPES = frozenset({"ApiKey"})


def _may_see(principal: Principal, type_name: str) -> bool:
    if principal.is_platform_admin:
        return type_name in PLATFORM_NODE_TYPES
    return type_name not in ADMIN_NODE_TYPES or principal.role == ApiKeyRole.ADMIN


TenantResult: TypeAlias = Annotated[TenantSuccess | MutationErrors, result_union("TenantResult")]
ApiKeyResult: TypeAlias = Annotated[ApiKeySuccess | MutationErrors, result_union("ApiKeyResult")]


@strawberry.type
class TenantQueries:
    @strawberry.field(permission_classes=[Authenticated], description="Who you are: your tenant and role.")
    async def viewer(self, info: Info[Context, None]) -> Viewer:
        principal = info.context.principal
        if principal.is_platform_admin:
            return Viewer(tenant=None, role=principal.role_name, actor_id=principal.actor.id)
        row = await (await info.context.reader()).tenants.current()
        return Viewer(
            tenant=TenantType.from_row(row) if row else None, role=principal.role_name, actor_id=principal.actor.id
        )

    @strawberry.field(
        permission_classes=[Authenticated],
        description="Any object by its global id; null if it does not exist in your tenant.",
    )
    async def node(
        self, info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")]
    ) -> relay.Node | None:
        try:
            global_id = relay.GlobalID.from_id(id)
        except Exception:  # malformed base64 or missing "Type:" part
            raise ValidationError("id", "is not a valid global id") from None
        if global_id.type_name not in NODE_KINDS:
            raise ValidationError("id", "is not a valid global id")
        if not _may_see(info.context.principal, global_id.type_name):
            return None
        return await global_id.resolve_node(info, required=False)

    @strawberry.field(permission_classes=[PlatformAdmin], description="Every tenant (platform admin only).")
    async def tenants(
        self,
        info: Info[Context, None],
        status: Annotated[TenantStatus | None, strawberry.argument(description="Only tenants in this status.")] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[TenantType] | None:
        uow = await info.context.reader()
        size = page_size(first)
        page = await uow.tenants.list(size, after, status)
        return connection(page, TenantType.from_row, lambda: uow.tenants.count(status), after)

    @strawberry.field(
        permission_classes=[CanAdminister], description="Your tenant's API keys (never the keys themselves)."
    )
    async def api_keys(
        self,
        info: Info[Context, None],
        include_revoked: Annotated[
            bool | None,
            strawberry.argument(description="Include revoked keys (default false; null means the default)."),
        ] = False,
    ) -> list[ApiKeyType] | None:
        rows = await (await info.context.reader()).api_keys.list(include_revoked is True)
        return [ApiKeyType.from_row(row) for row in rows]

    @strawberry.field(permission_classes=[CanRead], description="Your tenant's audit log, newest first.")
    async def audit_log(
        self,
        info: Info[Context, None],
        filter: Annotated[AuditLogFilter | None, strawberry.argument(description="Conditions to match.")] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[AuditEntryType] | None:
        given = filter or AuditLogFilter()
        where = AuditFilter(
            given.component,
            given.event,
            given.actor,
            validation.aware("filter.occurredFrom", given.occurred_from),
            validation.aware("filter.occurredTo", given.occurred_to),
        )
        uow = await info.context.reader()
        page = await uow.audit.list(where, page_size(first), after)
        return connection(page, AuditEntryType.from_row, lambda: uow.audit.count(where), after)

    @strawberry.field(
        permission_classes=[CanAdminister],
        description="Recompute your tenant's hash chains over the timelines and the audit log (tamper evidence).",
    )
    async def verify_history(self, info: Info[Context, None]) -> list[HistoryVerification] | None:
        uow = await info.context.reader()
        reports = [await uow.history.verify(chain) for chain in ("exception_event", "audit_log")]
        return [
            HistoryVerification(
                chain=report.chain,
                links=report.links,
                intact=report.intact,
                first_broken_position=report.first_broken_position,
                unlinked_rows=report.unlinked_rows,
            )
            for report in reports
        ]


@strawberry.type
class TenantMutations:
    @strawberry.mutation(
        permission_classes=[answered(PlatformAdmin)],
        description="Create a tenant and its first ADMIN key (platform admin only).",
    )
    async def create_tenant(self, info: Info[Context, None], input: Input[CreateTenantInput]) -> TenantResult:
        actor = info.context.principal.actor

        async def create(uow):
            tenant = await configuration.create_tenant(uow, actor, input.tenant_id, input.name)
            _, key = await configuration.create_api_key(
                uow, actor, "initial-admin", ApiKeyRole.ADMIN, platform_target=tenant.tenant_id
            )
            return tenant, key

        return await run_mutation(
            info,
            create,
            lambda made: TenantSuccess(tenant=TenantType.from_row(made[0]), admin_key=made[1]),
            platform=True,
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(PlatformAdmin)], description="Suspend, archive or reactivate a tenant."
    )
    async def set_tenant_status(self, info: Info[Context, None], input: Input[SetTenantStatusInput]) -> TenantResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.set_tenant_status(uow, actor, input.tenant_id, input.status),
            lambda row: _forgetting(info, TenantSuccess(tenant=TenantType.from_row(row), admin_key=None)),
            platform=True,
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)], description="Create an API key; the key is shown once."
    )
    async def create_api_key(self, info: Info[Context, None], input: Input[CreateApiKeyInput]) -> ApiKeyResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.create_api_key(
                uow, actor, input.name, input.role, expires_at=input.expires_at, now=info.context.now
            ),
            lambda made: ApiKeySuccess(api_key=ApiKeyType.from_row(made[0]), secret=made[1]),
            keyed_by=input,
        )

    @strawberry.mutation(permission_classes=[answered(CanAdminister)], description="Revoke an API key of your tenant.")
    async def revoke_api_key(self, info: Info[Context, None], input: Input[RevokeApiKeyInput]) -> ApiKeyResult:
        actor = info.context.principal.actor
        key_id: uuid.UUID = input.key_id
        return await run_mutation(
            info,
            lambda uow: configuration.revoke_api_key(uow, actor, key_id),
            lambda row: _forgetting(info, ApiKeySuccess(api_key=ApiKeyType.from_row(row), secret=None)),
            keyed_by=input,
        )


def _forgetting(info: Info[Context, None], result: T) -> T:
    """After a revocation or a status change, this process stops trusting cached credentials."""
    info.context.forget_credentials()
    return result
