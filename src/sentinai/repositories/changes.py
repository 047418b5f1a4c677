"""The change log: a tenant's committed changes by position (alembic/versions/0005_change_log.sql).

Positions are taken under the tenant's head lock and commit in order, so what any statement
sees is a gap-free prefix: reading "after the last position seen" never skips a late commit.
"""

from __future__ import annotations

from sqlalchemy import func, select

from sentinai.db import models
from sentinai.errors import ValidationError
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import Page

C = models.ChangeLog
MAX_POSITION = 2**63 - 1


def position_of(field: str, cursor: str | None) -> int:
    """A feed cursor is the decimal position of the last change seen ("0" or null: the start)."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 19 or int(cursor) > MAX_POSITION:
        raise ValidationError(field, "must be a position: the cursor of a change, a whole number of at most 19 digits")
    return int(cursor)


class ChangeLogRepository(Repository):
    async def after(self, position: int, first: int, exception_id: str | None = None) -> Page[models.ChangeLog]:
        """Up to `first` changes after `position`, oldest first; of one exception when given."""
        statement = select(C).where(C.tenant_id == self.tenant_id, C.position > position)
        if exception_id is not None:
            statement = statement.where(C.exception_id == exception_id)
        rows = list((await self.uow.execute(statement.order_by(C.position).limit(first + 1))).scalars())
        items = rows[:first]
        return Page(items, len(rows) > first, [str(row.position) for row in items])

    async def head(self) -> int:
        """The tenant's last position (0 before its first change): also how many changes it has had."""
        statement = select(func.coalesce(func.max(C.position), 0)).where(C.tenant_id == self.tenant_id)
        return int(await self.uow.scalar(statement) or 0)
