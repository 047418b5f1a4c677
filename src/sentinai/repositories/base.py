"""What every repository shares: the unit of work it runs in and its tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentinai.repositories.unit_of_work import UnitOfWork


class Repository:
    """Built from a unit of work; scoped by the unit of work's tenant, never by an argument."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def tenant_id(self) -> str:
        return self.uow.tenant_id
