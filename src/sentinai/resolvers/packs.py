"""Domain packs (global) and the tenant's policy packs."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.resolvers.mutations import Input, run_mutation
from sentinai.resolvers.permissions import Authenticated, CanAdminister, CanRead, PlatformAdmin, answered
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.packs import (
    DomainPackType,
    PolicyPackType,
    PublishDomainPackInput,
    PublishDomainPackSuccess,
    PublishPolicyPackInput,
    PublishPolicyPackSuccess,
)
from sentinai.services import configuration

PublishPolicyPackResult: TypeAlias = Annotated[
    PublishPolicyPackSuccess | MutationErrors, result_union("PublishPolicyPackResult")
]
PublishDomainPackResult: TypeAlias = Annotated[
    PublishDomainPackSuccess | MutationErrors, result_union("PublishDomainPackResult")
]


@strawberry.type
class PackQueries:
    @strawberry.field(permission_classes=[Authenticated], description="A domain pack: latest, or a given version.")
    async def domain_pack(
        self,
        info: Info[Context, None],
        domain: Annotated[str, strawberry.argument(description="The domain, e.g. Finance.")],
        version: Annotated[int | None, strawberry.argument(description="Version (default: latest).")] = None,
    ) -> DomainPackType | None:
        row = await (await info.context.reader()).domain_packs.get(domain, version)
        return DomainPackType.from_row(row) if row else None

    @strawberry.field(permission_classes=[CanRead], description="Your policy pack: latest, or a given version.")
    async def policy_pack(
        self,
        info: Info[Context, None],
        version: Annotated[int | None, strawberry.argument(description="Version (default: latest).")] = None,
    ) -> PolicyPackType | None:
        row = await (await info.context.reader()).policy_packs.get(version)
        return PolicyPackType.from_row(row) if row else None


@strawberry.type
class PackMutations:
    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)], description="Publish the next version of your policy pack."
    )
    async def publish_policy_pack(
        self, info: Info[Context, None], input: Input[PublishPolicyPackInput]
    ) -> PublishPolicyPackResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.publish_policy_pack(uow, actor, input.pack),
            lambda row: PublishPolicyPackSuccess(policy_pack=PolicyPackType.from_row(row)),
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(PlatformAdmin)], description="Publish the next version of a domain pack."
    )
    async def publish_domain_pack(
        self, info: Info[Context, None], input: Input[PublishDomainPackInput]
    ) -> PublishDomainPackResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.publish_domain_pack(uow, actor, input.domain, input.pack),
            lambda row: PublishDomainPackSuccess(domain_pack=DomainPackType.from_row(row)),
            platform=True,
            keyed_by=input,
        )
