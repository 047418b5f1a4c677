"""Tenants, API keys, the caller (`viewer`) and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

import strawberry
from strawberry import Info, relay
from strawberry.scalars import JSON

from sentinai.context import Context
from sentinai.domain.audit import shown_details
from sentinai.domain.enums import ApiKeyRole
from sentinai.schema.enums import Role, TenantStatus
from sentinai.schema.idempotency import idempotency_key_field, replayed_field
from sentinai.schema.nodes import LoadedNode


@strawberry.type(name="Tenant", description="An organisation whose data is isolated from every other's.")
class TenantType(LoadedNode):
    kind: ClassVar[str] = "tenant"
    key: relay.NodeID[str]
    tenant_id: str = strawberry.field(description="The tenant's id.")
    name: str = strawberry.field(description="Display name.")
    status: TenantStatus = strawberry.field(description="ACTIVE tenants can be used; others are refused.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    _row: strawberry.Private[Any]


@strawberry.type(name="ApiKey", description="An API key of your tenant. The key itself is shown only when created.")
class ApiKeyType(LoadedNode):
    kind: ClassVar[str] = "api_key"
    key: relay.NodeID[str]
    key_id: uuid.UUID = strawberry.field(description="Id, used to revoke it.")
    name: str = strawberry.field(description="What it is for.")
    role: Role = strawberry.field(description="What it may do.")
    key_prefix: str = strawberry.field(description="First characters of the key, to recognise it.")
    created_by: str = strawberry.field(description="Who created it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working (null: never). Live subscriptions opened with it end then too."
    )

    _row: strawberry.Private[Any]


@strawberry.type(name="AuditEntry", description="A write-once record of a configuration change.")
class AuditEntryType(LoadedNode):
    kind: ClassVar[str] = "audit"
    key: relay.NodeID[str]
    audit_id: int = strawberry.field(description="Numeric id.")
    occurred_at: datetime = strawberry.field(description="When the change happened.")
    component: str = strawberry.field(
        description="Area changed: tenancy, access, packs, playbooks, tools, remediation."
    )
    event: str = strawberry.field(description="What happened, e.g. playbook.created.")
    actor: str = strawberry.field(description="Who did it.")

    _row: strawberry.Private[Any]

    @strawberry.field(
        description="Specifics of the change (a webhook's URL: whole for ADMIN keys, its origin for others)."
    )
    def details(self, info: Info[Context, None]) -> JSON:
        """Every read of an audit entry (`auditLog`, `changes`, `node`) answers through here."""
        return shown_details(self.event, self._row.details, info.context.principal.role == ApiKeyRole.ADMIN)


@strawberry.type(name="Viewer", description="The caller, as their credential identifies them.")
class Viewer:
    tenant: TenantType | None = strawberry.field(description="Your tenant (null for the platform admin).")
    role: str = strawberry.field(description="VIEWER, OPERATOR, AGENT, ADMIN, or PLATFORM_ADMIN.")
    actor_id: str = strawberry.field(description="The id your writes are recorded under.")


@strawberry.input(name="AuditLogFilter", description="All given conditions must hold.")
class AuditLogFilter:
    component: str | None = strawberry.field(default=None, description="Exact component.")
    event: str | None = strawberry.field(default=None, description="Exact event.")
    actor: str | None = strawberry.field(default=None, description="Exact actor.")
    occurred_from: datetime | None = strawberry.field(default=None, description="At or after (inclusive).")
    occurred_to: datetime | None = strawberry.field(default=None, description="Before (exclusive).")


@strawberry.input(name="CreateTenantInput", description="A new tenant, with its first admin key.")
class CreateTenantInput:
    tenant_id: str = strawberry.field(description="1-64 letters, digits, '_', '.', '-'.")
    name: str = strawberry.field(description="Display name.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="SetTenantStatusInput", description="Suspend, archive or reactivate a tenant.")
class SetTenantStatusInput:
    tenant_id: str = strawberry.field(description="The tenant.")
    status: TenantStatus = strawberry.field(description="The new status.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="CreateApiKeyInput", description="A new key for your tenant.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="What it is for (e.g. triage-agent).")
    role: Role = strawberry.field(description="What it may do.")
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="When it stops working, with a time zone, in the future (null: never). Prefer keys that expire.",
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="RevokeApiKeyInput", description="Revoke one of your tenant's keys.")
class RevokeApiKeyInput:
    key_id: uuid.UUID = strawberry.field(description="The key's id.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(name="TenantSuccess", description="The tenant after the change.")
class TenantSuccess:
    tenant: TenantType = strawberry.field(description="The stored tenant.")
    admin_key: str | None = strawberry.field(description="On creation only: the tenant's first ADMIN key, shown once.")
    replayed: bool = replayed_field()


@strawberry.type(name="ApiKeySuccess", description="The key after the change.")
class ApiKeySuccess:
    api_key: ApiKeyType = strawberry.field(description="The stored key.")
    secret: str | None = strawberry.field(description="On creation only: the key itself, shown this once.")
    replayed: bool = replayed_field()


@strawberry.type(name="HistoryVerification", description="The result of recomputing one hash chain of your tenant.")
class HistoryVerification:
    chain: str = strawberry.field(description="`exception_event` (the timelines) or `audit_log`.")
    links: int = strawberry.field(description="Links checked.")
    intact: bool = strawberry.field(description="True when every row is linked and every link recomputes.")
    first_broken_position: int | None = strawberry.field(
        description="The first link whose row was changed, removed or reordered, if any."
    )
    unlinked_rows: int = strawberry.field(description="Rows that bypassed the chain (written with triggers off).")
