"""Playbooks and tools: reading them, creating versions, registering tools."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.errors import ValidationError
from sentinai.repositories.pagination import page_size
from sentinai.repositories.playbooks import NewStep
from sentinai.resolvers.mutations import Input, run_mutation
from sentinai.resolvers.permissions import CanAdminister, CanRead, PlatformAdmin, answered
from sentinai.schema.connections import Connection, connection
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.playbooks import (
    CreatePlaybookInput,
    CreatePlaybookSuccess,
    PlaybookType,
    RegisterToolInput,
    RegisterToolSuccess,
    ToolType,
)
from sentinai.services import configuration

CreatePlaybookResult: TypeAlias = Annotated[
    CreatePlaybookSuccess | MutationErrors, result_union("CreatePlaybookResult")
]
RegisterToolResult: TypeAlias = Annotated[RegisterToolSuccess | MutationErrors, result_union("RegisterToolResult")]


@strawberry.type
class PlaybookQueries:
    @strawberry.field(permission_classes=[CanRead], description="Your playbooks, every version, by name then version.")
    async def playbooks(
        self,
        info: Info[Context, None],
        name: Annotated[str | None, strawberry.argument(description="Only versions of this playbook.")] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[PlaybookType] | None:
        uow = await info.context.reader()
        size = page_size(first)
        page = await uow.playbooks.list(size, after, name)
        return connection(page, PlaybookType.from_row, lambda: uow.playbooks.count(name), after)

    @strawberry.field(
        permission_classes=[CanRead],
        description="One playbook: by id, or by name (latest version unless `version` is given).",
    )
    async def playbook(
        self,
        info: Info[Context, None],
        playbook_id: Annotated[int | None, strawberry.argument(description="A specific playbook version's id.")] = None,
        name: Annotated[str | None, strawberry.argument(description="Playbook name.")] = None,
        version: Annotated[int | None, strawberry.argument(description="Version of `name` (default: latest).")] = None,
    ) -> PlaybookType | None:
        if (playbook_id is None) == (name is None):
            raise ValidationError("playbookId", "give exactly one of playbookId or name")
        if playbook_id is not None:
            row = await info.context.loaders.by_kind["playbook"].load(playbook_id)
        else:
            assert name is not None, "exactly one of the two, checked above"
            row = await (await info.context.reader()).playbooks.get_by_name(name, version)
        return PlaybookType.from_row(row) if row else None

    @strawberry.field(permission_classes=[CanRead], description="Tools you can use: yours and the global ones.")
    async def tools(
        self,
        info: Info[Context, None],
        include_global: Annotated[
            bool | None,
            strawberry.argument(description="Include platform-wide tools (default true; null means the default)."),
        ] = True,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[ToolType] | None:
        uow = await info.context.reader()
        size = page_size(first)
        with_global = include_global is not False
        page = await uow.tools.page(size, after, with_global)
        return connection(page, ToolType.from_row, lambda: uow.tools.count(with_global), after)


@strawberry.type
class PlaybookMutations:
    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)],
        description="Create a playbook; an existing name gets its next version.",
    )
    async def create_playbook(
        self, info: Info[Context, None], input: Input[CreatePlaybookInput]
    ) -> CreatePlaybookResult:
        steps = [NewStep(step.name, step.action_type, step.params, step.tool_id) for step in input.steps]
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.create_playbook(
                uow, actor, input.name, steps, input.description, input.conditions
            ),
            lambda row: CreatePlaybookSuccess(playbook=PlaybookType.from_row(row)),
            keyed_by=input,
        )

    @strawberry.mutation(permission_classes=[answered(CanAdminister)], description="Register a tool for your tenant.")
    async def register_tool(self, info: Info[Context, None], input: Input[RegisterToolInput]) -> RegisterToolResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.register_tool(
                uow, actor, input.name, input.type, input.config, input.secrets, input.description
            ),
            lambda row: RegisterToolSuccess(tool=ToolType.from_row(row)),
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(PlatformAdmin)],
        description="Register a global tool every tenant can use (platform admin).",
    )
    async def register_global_tool(
        self, info: Info[Context, None], input: Input[RegisterToolInput]
    ) -> RegisterToolResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: configuration.register_tool(
                uow, actor, input.name, input.type, input.config, input.secrets, input.description, global_tool=True
            ),
            lambda row: RegisterToolSuccess(tool=ToolType.from_row(row)),
            platform=True,
            keyed_by=input,
        )
