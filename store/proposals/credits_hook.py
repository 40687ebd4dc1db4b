"""The credit system (#4) awards points when an item is accepted (受理) or adopted (采纳)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from store.credits.awards import award_proposal_points
from store.credits.rules import CreditRules


async def award_points(
    session: AsyncSession,
    *,
    member_id: int,
    proposal_id: int,
    stage: Literal["accepted", "adopted"],
    at: datetime,
    title: str | None = None,
    tz: tzinfo | None = None,
    rules: CreditRules | None = None,
) -> int:
    """Points through the active credit rules, in the caller's transaction; idempotent per item and stage."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo("Asia/Shanghai")
    return await award_proposal_points(
        session, member_id=member_id, proposal_id=proposal_id, stage=stage, at=at, title=title, tz=zone, rules=rules
    )
