"""The domain's vocabularies. Stored in lower case (the values); the API shows the names."""

from __future__ import annotations

import enum


class TenantStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


class Severity(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ExceptionStatus(str, enum.Enum):
    OPEN = "open"
    ANALYZING = "analyzing"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class ActorType(str, enum.Enum):
    AGENT = "agent"
    USER = "user"
    SYSTEM = "system"


class ToolType(str, enum.Enum):
    WEBHOOK = "webhook"
    REST = "rest"
    EMAIL = "email"
    WORKFLOW = "workflow"


class RiskLevel(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class PlanStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTED = "executed"
    FAILED = "failed"


class ApiKeyRole(str, enum.Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    AGENT = "agent"
    ADMIN = "admin"


class SlaSource(str, enum.Enum):
    """Who decided an exception's SLA deadline."""

    SOURCE = "source"
    POLICY_PACK = "policy_pack"
    DOMAIN_PACK = "domain_pack"
