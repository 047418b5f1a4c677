"""What domain packs and policy packs may contain.

Both are open at the top level (a pack carries policies that agents read and SentinAI does not),
but every section SentinAI itself reads is declared here and checked on publication, so a pack
that would break a read later (`sla: "strict"`) is refused when it is published.
"""

from __future__ import annotations

from typing import Any

from sentinai.domain import shapes, validation
from sentinai.domain.shapes import Field, Shape
from sentinai.domain.sla import MAX_AT_RISK_MINUTES

POLICY_PACK = Shape(
    {
        "sla": Field(
            "object",
            shape=Shape(
                {"atRiskMinutes": Field("number", minimum=0, maximum=MAX_AT_RISK_MINUTES)},
                closed=True,
            ),
        ),
    }
)
"""`sla.atRiskMinutes`: how close to its deadline an open exception counts as AT_RISK."""

DOMAIN_PACK = Shape(
    {
        "exceptionTypes": Field("list", items="string"),
        "slaHours": Field("object"),
    }
)
"""`exceptionTypes`: the types an exception of this domain may have."""


def policy_pack(field: str, pack: Any) -> dict[str, Any]:
    checked = validation.json_object(field, pack)
    shapes.check(POLICY_PACK, checked, field)
    return checked


def domain_pack(field: str, pack: Any) -> dict[str, Any]:
    checked = validation.json_object(field, pack)
    shapes.check(DOMAIN_PACK, checked, field)
    return checked
