"""What every repository shares: the unit of work it runs in and its tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from sentinai.repositories.unit_of_work import UnitOfWork


class Repository:
    """Built from a unit of work; scoped by the unit of work's tenant, never by an argument."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def tenant_id(self) -> str:
        return self.uow.tenant_id

    async def _serialise_on(self, key: str) -> None:
        """Queue behind other transactions working on `key` until this one ends (an advisory lock)."""
        await self.uow.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
