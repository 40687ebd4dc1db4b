"""Random secrets generated once and kept in the database, so every process and restart agrees on them."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AppSecret


async def get_or_create(session: AsyncSession, *, name: str, now: datetime) -> tuple[str, bool]:
    """The secret called ``name`` and whether this call created it (random, 256 bits; safe against a racing
    process). A created secret is only shared once the caller commits."""
    found = await session.scalar(select(AppSecret.value).where(AppSecret.name == name))
    if found is not None:
        return found, False
    value = secrets.token_urlsafe(32)
    try:
        async with session.begin_nested():
            session.add(AppSecret(name=name, value=value, created_at=now))
    except IntegrityError:  # another process created it first: use theirs
        theirs = await session.scalar(select(AppSecret.value).where(AppSecret.name == name))
        if theirs is None:
            raise
        return theirs, False
    return value, True
