"""An in-process HTTP client for the GraphQL endpoint, and API-level fixtures' helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from sentinai.db import models


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    admin_token: str

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None, status: int = 200
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == status, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, *, key: str) -> dict[str, Any]:
        """The `data` of a request that must succeed without any error."""
        body = await self.post(query, variables, key=key)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def errors(self, query: str, variables: dict[str, Any] | None = None, *, key: str) -> list[dict[str, Any]]:
        body = await self.post(query, variables, key=key)
        assert body.get("errors"), body
        return body["errors"]


@dataclass
class ApiTenant:
    """A tenant reachable through the API, with one key per role."""

    tenant_id: str
    keys: dict[models.ApiKeyRole, str] = field(default_factory=dict)

    @property
    def viewer(self) -> str:
        return self.keys[models.ApiKeyRole.VIEWER]

    @property
    def operator(self) -> str:
        return self.keys[models.ApiKeyRole.OPERATOR]

    @property
    def agent(self) -> str:
        return self.keys[models.ApiKeyRole.AGENT]

    @property
    def admin(self) -> str:
        return self.keys[models.ApiKeyRole.ADMIN]
