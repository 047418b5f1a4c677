"""ORM models: the tables the migrations create, for queries and for `alembic check`.

The migrations are the only way the schema changes; these classes must match them
(a test runs `alembic check`). Row-level security, triggers and grants live only in
the migrations, because the ORM cannot express them.

Every primary, unique and foreign key of a tenant-owned table leads with `tenant_id`,
so the same `exception_id` in two tenants is two rows, and the schema can be
distributed by `tenant_id` later.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sentinai.domain.enums import (  # noqa: F401 - re-exported: callers name them models.Severity etc.
    ActorType,
    ApiKeyRole,
    ExceptionStatus,
    PlanStatus,
    RiskLevel,
    Severity,
    SlaSource,
    TenantStatus,
    ToolType,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(py_enum: type[enum.Enum], name: str) -> Enum:
    return Enum(
        py_enum,
        name=name,
        values_callable=lambda members: [member.value for member in members],
        create_type=False,
        validate_strings=True,
    )


TIMESTAMP = DateTime(timezone=True)
SEVERITY = _enum(Severity, "exception_severity")
EXCEPTION_STATUS = _enum(ExceptionStatus, "exception_status")
SLA_SOURCE = _enum(SlaSource, "sla_source")


def _created_at() -> Mapped[datetime]:
    return mapped_column(TIMESTAMP, nullable=False, server_default=func.now())


class Tenant(Base):
    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint(r"tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'", name="tenant_id_format"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[TenantStatus] = mapped_column(
        _enum(TenantStatus, "tenant_status"), nullable=False, server_default="active"
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class DomainPackVersion(Base):
    """A global, versioned domain pack (Finance, Healthcare, …): readable by every tenant."""

    __tablename__ = "domain_pack_version"
    __table_args__ = (
        UniqueConstraint("domain", "version"),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("length(btrim(domain)) > 0", name="domain_not_blank"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    domain: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    pack_json: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    published_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class TenantPolicyPackVersion(Base):
    __tablename__ = "tenant_policy_pack_version"
    __table_args__ = (
        UniqueConstraint("tenant_id", "version"),
        CheckConstraint("version > 0", name="version_positive"),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    pack_json: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    published_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Playbook(Base):
    __tablename__ = "playbook"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "version"),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    playbook_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()


class PlaybookStep(Base):
    __tablename__ = "playbook_step"
    __table_args__ = (
        UniqueConstraint("tenant_id", "playbook_id", "step_order"),
        CheckConstraint("step_order > 0", name="step_order_positive"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        ForeignKeyConstraint(
            ["tenant_id", "playbook_id"], ["playbook.tenant_id", "playbook.playbook_id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tool_id"], ["tool_definition.tool_id"], ondelete="RESTRICT"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    playbook_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    step_order: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    action_type: Mapped[str] = mapped_column(String(100), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    tool_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = _created_at()


class ToolDefinition(Base):
    """A tool steps can call. `tenant_id` NULL marks a global tool, readable by every tenant.

    Because a global row has no tenant, this is the one mixed-scope table whose key
    cannot lead with `tenant_id` (see docs/architecture.md).
    """

    __tablename__ = "tool_definition"
    __table_args__ = (
        Index(
            "uq_tool_definition_tenant_id_name", "tenant_id", "name", unique=True, postgresql_nulls_not_distinct=True
        ),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
    )

    tool_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[ToolType] = mapped_column(_enum(ToolType, "tool_type"), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    secret_config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()


class ExceptionRecord(Base):
    """An operational exception: the current state. Its history is `ExceptionEvent`."""

    __tablename__ = "exception"
    __table_args__ = (
        CheckConstraint("length(btrim(exception_id)) > 0", name="exception_id_not_blank"),
        CheckConstraint("current_step IS NULL OR current_step > 0", name="current_step_positive"),
        CheckConstraint("current_step IS NULL OR current_playbook_id IS NOT NULL", name="step_needs_playbook"),
        CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name="resolved_at_matches_status"),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "current_playbook_id"],
            ["playbook.tenant_id", "playbook.playbook_id"],
            ondelete="RESTRICT",
        ),
        Index("ix_exception_tenant_id_domain_created_at", "tenant_id", "domain", "created_at"),
        Index("ix_exception_tenant_id_status_severity", "tenant_id", "status", "severity"),
        Index("ix_exception_tenant_id_created_at_exception_id", "tenant_id", "created_at", "exception_id"),
        Index("ix_exception_tenant_id_entity_created_at", "tenant_id", "entity", "created_at"),
        Index("ix_exception_tenant_id_owner", "tenant_id", "owner"),
        Index("ix_exception_tenant_id_current_playbook_id", "tenant_id", "current_playbook_id"),
        Index("ix_exception_tenant_id_type_created_at", "tenant_id", "type", "created_at"),
        Index(
            "ix_exception_tenant_id_summary_trgm",
            "tenant_id",
            "summary",
            postgresql_using="gist",
            postgresql_ops={"summary": "gist_trgm_ops"},
        ),
        Index(
            "ix_exception_tenant_id_open_sla_deadline",
            "tenant_id",
            "sla_deadline",
            "exception_id",
            postgresql_where=text("status <> 'resolved' AND sla_deadline IS NOT NULL"),
        ),
        Index(
            "ix_exception_tenant_id_sla_deadline",
            "tenant_id",
            "sla_deadline",
            "exception_id",
            postgresql_where=text("sla_deadline IS NOT NULL"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    exception_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    domain: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    severity: Mapped[Severity] = mapped_column(SEVERITY, nullable=False)
    status: Mapped[ExceptionStatus] = mapped_column(EXCEPTION_STATUS, nullable=False)
    source_system: Mapped[str] = mapped_column(String(100), nullable=False)
    entity: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    sla_deadline: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    sla_source: Mapped[SlaSource | None] = mapped_column(SLA_SOURCE)
    """Who decided `sla_deadline` (domain.deadlines); null without a deadline, and on rows older
    than that rule or bulk-loaded, whose deadlines count as sent."""
    sla_pack_version: Mapped[int | None] = mapped_column(Integer)
    """The version of the pack (`sla_source`) whose hours gave a derived deadline."""
    owner: Mapped[str | None] = mapped_column(String(200))
    current_playbook_id: Mapped[int | None] = mapped_column(BigInteger)
    current_step: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    enriched_context: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    rca_hypothesis: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    domain_pack_version: Mapped[int | None] = mapped_column(Integer)
    policy_pack_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class ExceptionCount(Base):
    """How many of a tenant's exceptions have one (domain, type, severity, status).

    Kept by triggers in the writer's own transaction (alembic/versions/0007_exception_counts.sql);
    the app role may only read it. A count may be 0: the row of a combination no longer in use."""

    __tablename__ = "exception_count"
    __table_args__ = (CheckConstraint("count >= 0", name="count_not_negative"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), primary_key=True)
    severity: Mapped[Severity] = mapped_column(SEVERITY, primary_key=True)
    status: Mapped[ExceptionStatus] = mapped_column(EXCEPTION_STATUS, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ExceptionEvent(Base):
    """One step in an exception's timeline. Append-only: the database refuses UPDATE/DELETE."""

    __tablename__ = "exception_event"
    __table_args__ = (
        CheckConstraint("length(btrim(event_type)) > 0", name="event_type_not_blank"),
        ForeignKeyConstraint(
            ["tenant_id", "exception_id"],
            ["exception.tenant_id", "exception.exception_id"],
            ondelete="RESTRICT",
        ),
        Index("ix_exception_event_tenant_id_exception_id_created_at", "tenant_id", "exception_id", "created_at", "seq"),
        Index("ix_exception_event_tenant_id_created_at", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    exception_id: Mapped[str] = mapped_column(String(128), nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_type: Mapped[ActorType] = mapped_column(_enum(ActorType, "actor_type"), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    state_change: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, nullable=False, server_default=func.clock_timestamp())


class RemediationPlan(Base):
    __tablename__ = "remediation_plan"
    __table_args__ = (
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_in_unit_range"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="decider_is_not_proposer"),
        CheckConstraint(
            "status = 'pending' OR NOT requires_approval OR decided_by IS NOT NULL",
            name="decision_recorded",
        ),
        CheckConstraint("length(btrim(root_cause)) > 0", name="root_cause_not_blank"),
        ForeignKeyConstraint(
            ["tenant_id", "exception_id"],
            ["exception.tenant_id", "exception.exception_id"],
            ondelete="RESTRICT",
        ),
        Index("ix_remediation_plan_tenant_id_exception_id", "tenant_id", "exception_id", "created_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    exception_id: Mapped[str] = mapped_column(String(128), nullable=False)
    root_cause: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[Decimal] = mapped_column(Numeric(4, 3), nullable=False)
    action_type: Mapped[str] = mapped_column(String(100), nullable=False)
    action_params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    risk_level: Mapped[RiskLevel] = mapped_column(_enum(RiskLevel, "risk_level"), nullable=False)
    requires_approval: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[PlanStatus] = mapped_column(
        _enum(PlanStatus, "remediation_plan_status"), nullable=False, server_default="pending"
    )
    proposed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    decision_note: Mapped[str | None] = mapped_column(Text)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class AuditLog(Base):
    """Write-once record of every configuration change. `tenant_id` NULL is a platform change."""

    __tablename__ = "audit_log"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
        Index("ix_audit_log_tenant_id_occurred_at", "tenant_id", "occurred_at", "audit_id"),
    )

    audit_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(TIMESTAMP, nullable=False, server_default=func.now())
    component: Mapped[str] = mapped_column(String(100), nullable=False)
    event: Mapped[str] = mapped_column(String(100), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))


class ApiKey(Base):
    """A tenant's API key. Only the SHA-256 of the secret is stored."""

    __tablename__ = "api_key"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key_hash"),
        CheckConstraint("octet_length(key_hash) = 32", name="key_hash_is_sha256"),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
        Index("ix_api_key_key_hash", "key_hash"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[ApiKeyRole] = mapped_column(_enum(ApiKeyRole, "api_key_role"), nullable=False)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class HistoryChainHead(Base):
    """The last link of each tenant's hash chain (written only by the chain trigger)."""

    __tablename__ = "history_chain_head"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class HistoryChainLink(Base):
    """One link of a tenant's hash chain over `exception_event` or `audit_log` ('' = platform)."""

    __tablename__ = "history_chain_link"
    __table_args__ = (Index("ix_history_chain_link_tenant_id_chain_row_key", "tenant_id", "chain", "row_key"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    row_key: Mapped[str] = mapped_column(Text, nullable=False)
    row_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class ChangeLogHead(Base):
    """The last position of each tenant's change log (written only by the change-log trigger)."""

    __tablename__ = "change_log_head"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ChangeLog(Base):
    """One committed change of a tenant at its position: a timeline event or an audit row.

    Written by a trigger in the writer's own transaction, under the tenant's head lock, so the
    positions any snapshot sees are a gap-free prefix (alembic/versions/0005_change_log.sql)."""

    __tablename__ = "change_log"
    __table_args__ = (
        CheckConstraint("source IN ('exception_event', 'audit_log')", name="source"),
        Index("ix_change_log_tenant_id_exception_id_position", "tenant_id", "exception_id", "position"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    row_key: Mapped[str] = mapped_column(Text, nullable=False)
    exception_id: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(TIMESTAMP, nullable=False, server_default=func.statement_timestamp())


class WebhookEndpoint(Base):
    """A tenant's receiver of the change log, and how far it has acknowledged it."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
        Index("ix_webhook_endpoint_enabled_next_attempt_at", "enabled", "next_attempt_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text, nullable=False)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(TIMESTAMP, nullable=False, server_default=func.now())
    leased_until: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    deleted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    """Set by `deleteWebhookEndpoint`: no longer listed, counted or delivered to; its log is kept."""
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class WebhookDelivery(Base):
    """One attempt to deliver one change to one endpoint."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoint.tenant_id", "webhook_endpoint.endpoint_id"],
            ondelete="CASCADE",
        ),
        Index("ix_webhook_delivery_tenant_id_endpoint_id_attempt_id", "tenant_id", "endpoint_id", "attempt_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(TIMESTAMP, nullable=False, server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)


class IdempotencyKey(Base):
    """A mutation's idempotency key in its scope (a tenant, or NULL: the platform), with a digest
    of the request it was first sent with and what that request answered."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key_digest", postgresql_nulls_not_distinct=True),
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="RESTRICT"),
        Index("ix_idempotency_key_tenant_id_created_at", "tenant_id", "created_at"),
    )

    idempotency_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    key_digest: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    request_digest: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    result: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created_at()
