"""Audit log writes for staff actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditLog, Member


async def record(
    session: AsyncSession,
    *,
    actor: Member | None,
    action: str,
    at: datetime,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    note: str | None = None,
    actor_label: str | None = None,
) -> AuditLog:
    entry = AuditLog(
        at=at,
        actor_member_id=actor.id if actor else None,
        actor=actor_label or (actor.name if actor else "system"),
        action=action,
        target=target,
        detail=detail,
        note=note,
    )
    session.add(entry)
    await session.flush()
    return entry


async def entries(session: AsyncSession, *, action: str | None = None, limit: int = 100) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(await session.scalars(stmt))
