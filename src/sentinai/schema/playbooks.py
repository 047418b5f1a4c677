"""Playbooks (versioned, ordered steps) and tools the steps call."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import strawberry
from strawberry import Info, relay
from strawberry.scalars import JSON

from sentinai.context import Context
from sentinai.schema.enums import ToolKind
from sentinai.schema.idempotency import idempotency_key_field, replayed_field
from sentinai.schema.nodes import LoadedNode


@strawberry.type(name="Tool", description="An endpoint a playbook step can call. Secrets are never returned.")
class ToolType(LoadedNode):
    kind: ClassVar[str] = "tool"
    key: relay.NodeID[str]
    tool_id: int = strawberry.field(description="Numeric id.")
    name: str = strawberry.field(description="Unique name within its scope (tenant or global).")
    type: ToolKind = strawberry.field(description="How it is called.")
    description: str | None = strawberry.field(description="What it does.")
    config: JSON = strawberry.field(description="Non-secret configuration (endpoint, schema…).")
    secret_keys: list[str] = strawberry.field(
        description="Names of the stored secrets; their values are never returned."
    )
    is_global: bool = strawberry.field(description="True for platform-wide tools every tenant can use.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    _row: strawberry.Private[Any]


@strawberry.type(name="PlaybookStep", description="One ordered step of a playbook.")
class PlaybookStepType(LoadedNode):
    kind: ClassVar[str] = "step"
    key: relay.NodeID[str]
    step_id: int = strawberry.field(description="Numeric id.")
    playbook_id: int = strawberry.field(description="The playbook it belongs to.")
    step_order: int = strawberry.field(description="Position in the playbook, from 1.")
    name: str = strawberry.field(description="What the step does.")
    action_type: str = strawberry.field(description="E.g. notify, call_tool, escalate, force_settle.")
    params: JSON = strawberry.field(description="Parameters of the action.")
    _row: strawberry.Private[Any]

    @strawberry.field(description="The tool this step calls, if any.")
    async def tool(self, info: Info[Context, None]) -> ToolType | None:
        row = await info.context.loaders.one("step", "tool", self._row)
        return ToolType.from_row(row) if row else None


@strawberry.type(
    name="Playbook", description="An ordered procedure for resolving exceptions. Immutable: changes make a new version."
)
class PlaybookType(LoadedNode):
    kind: ClassVar[str] = "playbook"
    key: relay.NodeID[str]
    playbook_id: int = strawberry.field(description="Numeric id of this version.")
    name: str = strawberry.field(description="Name shared by all versions.")
    version: int = strawberry.field(description="Version number, from 1.")
    description: str | None = strawberry.field(description="What it is for.")
    conditions: JSON = strawberry.field(description="Matching rules: which exceptions it applies to.")
    created_at: datetime = strawberry.field(description="When this version was created.")

    _row: strawberry.Private[Any]

    @strawberry.field(description="The steps, in order.")
    async def steps(self, info: Info[Context, None]) -> list[PlaybookStepType]:
        rows = await info.context.loaders.many("playbook", "steps", self._row)
        return [PlaybookStepType.from_row(row) for row in rows]

    @strawberry.field(description="The tools its steps call, each once, in step order.")
    async def tools(self, info: Info[Context, None]) -> list[ToolType]:
        rows = await info.context.loaders.through("playbook", "tools", self._row)
        return [ToolType.from_row(row) for row in rows]


@strawberry.input(name="PlaybookStepInput", description="A step of a new playbook; steps are numbered in list order.")
class PlaybookStepInput:
    name: str = strawberry.field(description="What the step does.")
    action_type: str = strawberry.field(description="E.g. notify, call_tool, escalate.")
    params: JSON | None = strawberry.field(default=None, description="Parameters (JSON object).")
    tool_id: int | None = strawberry.field(
        default=None, description="A tool of yours, or a global one, that the step calls."
    )


@strawberry.input(
    name="CreatePlaybookInput", description="A playbook; if the name exists this becomes its next version."
)
class CreatePlaybookInput:
    name: str = strawberry.field(description="Playbook name.")
    steps: list[PlaybookStepInput] = strawberry.field(description="1 to 100 steps, in order.")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    conditions: JSON | None = strawberry.field(default=None, description="Matching rules (JSON object).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="RegisterToolInput", description="A tool for your tenant.")
class RegisterToolInput:
    name: str = strawberry.field(description="Unique within your tenant.")
    type: ToolKind = strawberry.field(description="How it is called.")
    config: JSON | None = strawberry.field(
        default=None, description="Non-secret configuration; secret-looking keys are refused."
    )
    secrets: JSON | None = strawberry.field(default=None, description="Credentials; stored, never returned.")
    description: str | None = strawberry.field(default=None, description="What it does.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(name="CreatePlaybookSuccess", description="The new playbook version.")
class CreatePlaybookSuccess:
    playbook: PlaybookType = strawberry.field(description="The stored playbook.")
    replayed: bool = replayed_field()


@strawberry.type(name="RegisterToolSuccess", description="The registered tool.")
class RegisterToolSuccess:
    tool: ToolType = strawberry.field(description="The stored tool (without secrets).")
    replayed: bool = replayed_field()
