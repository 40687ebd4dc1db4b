"""What CLI command groups share: a migrated database for the length of one command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.settings import Settings
from store.db import Database


@asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, migrated to head, disposed of when the command is done."""
    db = Database(settings.resolved_database_url)
    try:
        await db.upgrade()
        yield db
    finally:
        await db.dispose()
