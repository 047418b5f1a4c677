"""What domain packs and policy packs may contain.

Both are open at the top level (a pack carries policies that agents read and SentinAI does not),
but every section SentinAI itself reads is declared here and checked on publication, so a pack
that would break a read later (`sla: "strict"`) is refused when it is published.
"""

from __future__ import annotations

from typing import Any

from sentinai.domain import shapes, validation
from sentinai.domain.deadlines import MAX_SLA_HOURS
from sentinai.domain.enums import Severity
from sentinai.domain.shapes import Field, Shape
from sentinai.domain.sla import MAX_AT_RISK_MINUTES
from sentinai.errors import ValidationError

SLA_HOURS = Shape(
    {severity.name: Field("number", above=0, maximum=MAX_SLA_HOURS) for severity in Severity}, closed=True
)
"""Hours to resolve by, per severity (`{CRITICAL: 4, HIGH: 24}`): positive numbers keyed by known
severities; a severity left out has no derived deadline (domain.deadlines)."""

POLICY_PACK = Shape(
    {
        "sla": Field(
            "object",
            shape=Shape(
                {
                    "atRiskMinutes": Field("number", minimum=0, maximum=MAX_AT_RISK_MINUTES),
                    "hours": Field("object", shape=SLA_HOURS),
                },
                closed=True,
            ),
        ),
        "domains": Field("list", items="string"),
    }
)
"""`sla.atRiskMinutes`: how close to its deadline an open exception counts as AT_RISK.
`sla.hours`: the tenant's SLA hours per severity, before its domain packs' `slaHours`.
`domains`: the domains this tenant works in; when present, exceptions of any other are refused."""

DOMAIN_PACK = Shape(
    {
        "exceptionTypes": Field("list", items="string"),
        "slaHours": Field("object", shape=SLA_HOURS),
    }
)
"""`exceptionTypes`: the types an exception of this domain may have. `slaHours`: the SLA hours
per severity of an exception of this domain whose source sends no deadline."""


def check_exception_kind(domain: str, type_: str, tenant_domains: Any, domain_types: Any) -> None:
    """An exception's domain and type against the packs in force: the tenant's latest policy
    pack (`domains`) and its domain's latest domain pack (`exceptionTypes`). A pack that
    declares nothing restricts nothing."""
    if isinstance(tenant_domains, list) and domain not in tenant_domains:
        known = ", ".join(sorted(map(str, tenant_domains))) or "none"
        raise ValidationError("domain", f"unknown domain {domain!r}: this tenant's policy pack allows {known}")
    if isinstance(domain_types, list) and type_ not in domain_types:
        known = ", ".join(sorted(map(str, domain_types))) or "none"
        raise ValidationError("type", f"unknown type {type_!r} for domain {domain!r}: its domain pack declares {known}")


def policy_pack(field: str, pack: Any) -> dict[str, Any]:
    checked = validation.json_object(field, pack)
    shapes.check(POLICY_PACK, checked, field)
    return checked


def domain_pack(field: str, pack: Any) -> dict[str, Any]:
    checked = validation.json_object(field, pack)
    shapes.check(DOMAIN_PACK, checked, field)
    return checked
