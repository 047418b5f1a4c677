"""Versioned packs: global domain packs and the tenant's policy packs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from sentinai.schema.idempotency import idempotency_key_field, replayed_field
from sentinai.schema.nodes import LoadedNode


@strawberry.type(name="DomainPack", description="A version of a domain's shared configuration (global).")
class DomainPackType(LoadedNode):
    kind: ClassVar[str] = "domain_pack"
    key: relay.NodeID[str]
    domain: str = strawberry.field(description="E.g. Finance, Healthcare.")
    version: int = strawberry.field(description="Version number, from 1.")
    pack: JSON = strawberry.field(description="The pack's content.")
    published_by: str = strawberry.field(description="Who published it.")
    created_at: datetime = strawberry.field(description="When it was published.")

    _row: strawberry.Private[Any]


@strawberry.type(name="PolicyPack", description="A version of your tenant's policy overlay.")
class PolicyPackType(LoadedNode):
    kind: ClassVar[str] = "policy_pack"
    key: relay.NodeID[str]
    version: int = strawberry.field(description="Version number, from 1.")
    pack: JSON = strawberry.field(description="The pack's content.")
    published_by: str = strawberry.field(description="Who published it.")
    created_at: datetime = strawberry.field(description="When it was published.")

    _row: strawberry.Private[Any]


@strawberry.input(name="PublishPolicyPackInput", description="The next version of your policy pack.")
class PublishPolicyPackInput:
    pack: JSON = strawberry.field(description="The pack's content (JSON object).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="PublishDomainPackInput", description="The next version of a domain pack.")
class PublishDomainPackInput:
    domain: str = strawberry.field(description="The domain.")
    pack: JSON = strawberry.field(description="The pack's content (JSON object).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(name="PublishPolicyPackSuccess", description="The published version.")
class PublishPolicyPackSuccess:
    policy_pack: PolicyPackType = strawberry.field(description="The stored version.")
    replayed: bool = replayed_field()


@strawberry.type(name="PublishDomainPackSuccess", description="The published version.")
class PublishDomainPackSuccess:
    domain_pack: DomainPackType = strawberry.field(description="The stored version.")
    replayed: bool = replayed_field()
