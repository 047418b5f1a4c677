"""Configuration changes: tenants, keys, packs, playbooks, tools.

Every change writes its audit row in the same transaction, through the audit port.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sentinai.db import models
from sentinai.domain import packs, validation
from sentinai.domain.actors import Actor
from sentinai.errors import ConflictError, NotFoundError, ValidationError
from sentinai.repositories.playbooks import NewStep
from sentinai.repositories.unit_of_work import UnitOfWork

SECRET_HINTS = ("secret", "token", "password", "apikey", "api_key", "authorization", "credential", "private")


async def create_tenant(uow: UnitOfWork, actor: Actor, tenant_id: str, name: str) -> models.Tenant:
    tenant_id = validation.tenant_id("tenantId", tenant_id)
    name = validation.text("name", name) or ""
    tenant = await uow.tenants.create(tenant_id, name)
    if tenant is None:
        raise ConflictError(f"tenant {tenant_id} already exists")
    await uow.audit.record("tenancy", "tenant.created", actor.id, {"name": name}, tenant_id=tenant_id)
    return tenant


async def set_tenant_status(
    uow: UnitOfWork, actor: Actor, tenant_id: str, status: models.TenantStatus
) -> models.Tenant:
    tenant = await uow.tenants.set_status(tenant_id, status)
    if tenant is None:
        raise NotFoundError("Tenant", tenant_id)
    await uow.audit.record("tenancy", "tenant.status_changed", actor.id, {"status": status.value}, tenant_id=tenant_id)
    await uow.api_keys.announce_credentials_changed()
    return tenant


async def create_api_key(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    role: models.ApiKeyRole,
    *,
    platform_target: str | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[models.ApiKey, str]:
    """A new key in the unit of work's tenant (or, on the platform path, in `platform_target`).
    An expiry must lie after `now`, the request's instant."""
    name = validation.text("name", name) or ""
    expires_at = validation.future("expiresAt", expires_at, now or datetime.now(UTC))
    row, key = await uow.api_keys.create(name, role, actor.id, platform_target=platform_target, expires_at=expires_at)
    details = {"keyId": str(row.key_id), "name": name, "role": role.value}
    if expires_at is not None:
        details["expiresAt"] = expires_at.isoformat()
    await uow.audit.record("access", "api_key.created", actor.id, details, tenant_id=row.tenant_id)
    return row, key


async def revoke_api_key(uow: UnitOfWork, actor: Actor, key_id: uuid.UUID) -> models.ApiKey:
    row = await uow.api_keys.revoke(key_id)
    if row is None:
        raise NotFoundError("ApiKey", key_id)
    await uow.audit.record("access", "api_key.revoked", actor.id, {"keyId": str(key_id)})
    await uow.api_keys.announce_credentials_changed()
    return row


async def publish_domain_pack(uow: UnitOfWork, actor: Actor, domain: str, pack: Any) -> models.DomainPackVersion:
    domain = validation.text("domain", domain, max_length=100) or ""
    row = await uow.domain_packs.publish(domain, packs.domain_pack("pack", pack), actor.id)
    await uow.audit.record("packs", "domain_pack.published", actor.id, {"domain": domain, "version": row.version})
    return row


async def publish_policy_pack(uow: UnitOfWork, actor: Actor, pack: Any) -> models.TenantPolicyPackVersion:
    row = await uow.policy_packs.publish(packs.policy_pack("pack", pack), actor.id)
    await uow.audit.record("packs", "policy_pack.published", actor.id, {"version": row.version})
    return row


async def create_playbook(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    steps: Sequence[NewStep],
    description: str | None = None,
    conditions: Any = None,
) -> models.Playbook:
    name = validation.text("name", name) or ""
    if not steps:
        raise ValidationError("steps", "must contain at least one step")
    if len(steps) > 100:
        raise ValidationError("steps", "must contain at most 100 steps")
    checked = [await _checked_step(uow, index, step) for index, step in enumerate(steps)]
    playbook = await uow.playbooks.create(
        name,
        checked,
        validation.text("description", description, max_length=5000, required=False),
        validation.json_object("conditions", conditions),
    )
    await uow.audit.record(
        "playbooks",
        "playbook.created",
        actor.id,
        {"playbookId": playbook.playbook_id, "name": name, "version": playbook.version},
    )
    return playbook


async def _checked_step(uow: UnitOfWork, index: int, step: NewStep) -> NewStep:
    where = f"steps[{index}]"
    if step.tool_id is not None and await uow.tools.get(step.tool_id) is None:
        raise ValidationError(f"{where}.toolId", f"tool {step.tool_id} was not found")
    return NewStep(
        name=validation.text(f"{where}.name", step.name) or "",
        action_type=validation.text(f"{where}.actionType", step.action_type, max_length=100) or "",
        params=validation.json_object(f"{where}.params", step.params),
        tool_id=step.tool_id,
    )


async def register_tool(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    type: models.ToolType,
    config: Any,
    secrets: Any,
    description: str | None = None,
    *,
    global_tool: bool = False,
) -> models.ToolDefinition:
    """Register a tool. `secrets` are stored apart from `config` and never returned; a
    `config` key that looks like a secret is refused so it cannot leak through reads."""
    name = validation.text("name", name) or ""
    config = validation.json_object("config", config)
    for key in config:
        if any(hint in key.lower().replace("-", "_") for hint in SECRET_HINTS):
            raise ValidationError(f"config.{key}", "looks like a secret: pass it in `secrets`, which is never returned")
    row = await uow.tools.register(
        name,
        type,
        config,
        validation.json_object("secrets", secrets),
        validation.text("description", description, max_length=5000, required=False),
        global_tool=global_tool,
    )
    if row is None:
        raise ConflictError(f"a tool named {name!r} already exists")
    await uow.audit.record(
        "tools", "tool.registered", actor.id, {"toolId": row.tool_id, "name": name, "global": global_tool}
    )
    return row
