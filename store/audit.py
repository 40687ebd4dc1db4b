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


async def entries(
    session: AsyncSession, *, action: str | None = None, limit: int = 100, before_id: int | None = None,
    actor_member_id: int | None = None,
) -> list[AuditLog]:
    """Newest first; ``action`` matches exactly or, ending in ``.``, as a prefix (``faq.``)."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action) if action.endswith(".") else AuditLog.action == action)
    if before_id is not None:
        stmt = stmt.where(AuditLog.id < before_id)
    if actor_member_id is not None:
        stmt = stmt.where(AuditLog.actor_member_id == actor_member_id)
    return list(await session.scalars(stmt))
