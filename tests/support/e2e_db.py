"""The database of an end-to-end test's bot processes, reached from the test itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from store.db import Database
from store.models import Member
from store.types import utcnow


async def add_members(url: str, telegram_ids: list[int]) -> None:
    """Migrate the database and add bound members straight into it (no CLI start needed)."""
    db = Database(url)
    try:
        await db.upgrade()  # before the bots start: they find the schema at head
        now = utcnow()
        async with db.session() as session:
            await session.execute(insert(Member), [
                {"name": f"委员{n}", "sector": "经济界", "district": "城关区", "role": "member",
                 "telegram_id": tid, "active": True, "created_at": now, "updated_at": now}
                for n, tid in enumerate(telegram_ids)
            ])
    finally:
        await db.dispose()


async def count(url: str, *queries: Any) -> list[int]:
    """The scalar of each query (counts), in one short session."""
    db = Database(url)
    try:
        async with db.session() as session:
            return [int(await session.scalar(q) or 0) for q in queries]
    finally:
        await db.dispose()
