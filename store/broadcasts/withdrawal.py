"""Withdrawing a broadcast (撤回): its author, or an admin, stops a notice that has not finished.

* What can be withdrawn: a notice awaiting review (it was never sent), a scheduled or queued one, and one
  being sent: its pending deliveries fail as ``withdrawn``; a message already handed to Telegram stays
  sent (Telegram gives a bot no way to unsend to many chats).
* Who: the author, or an active admin. Enforced here, in the one function the console and the Telegram
  button both call.
* Races: the state change is a conditional UPDATE on the states above whose rowcount is checked, so a
  reviewer approving at the same moment, a second tap, or the sender finishing either wins or loses
  cleanly. Deliveries are cancelled by a conditional UPDATE on ``pending``: a row the sender has already
  claimed finishes normally.
* Every withdrawal is written to the audit log in the same transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit
from store.broadcasts.outbox import LIVE_STATES
from store.broadcasts.states import BroadcastState, DeliveryState
from store.db import affected_rows
from store.models import Broadcast, BroadcastDelivery, Member, Role

WITHDRAWABLE = (BroadcastState.AWAITING.value, *LIVE_STATES)
WITHDRAWN_ERROR = "withdrawn"


class WithdrawOutcome(enum.Enum):
    WITHDRAWN = "withdrawn"
    NOT_ALLOWED = "not_allowed"  # neither the author nor an admin
    ALREADY = "already"  # finished, returned or withdrawn already (or it finished first)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Withdrawal:
    outcome: WithdrawOutcome
    broadcast: Broadcast | None = None
    cancelled: int = 0  # deliveries that will not be sent
    sent: int = 0  # deliveries that had already gone out, or were being sent


def may_withdraw(member: Member, broadcast: Broadcast) -> bool:
    """May ``member`` withdraw ``broadcast`` (whatever its state)?"""
    if not member.active:
        return False
    return member.role == Role.ADMIN.value or (broadcast.created_by is not None and broadcast.created_by == member.id)


def withdrawable(broadcast: Broadcast) -> bool:
    return broadcast.state in WITHDRAWABLE


async def withdraw(session: AsyncSession, *, broadcast_id: int, actor: Member, now: datetime) -> Withdrawal:
    """Withdraw the broadcast for ``actor`` (see the module docstring); the caller commits."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return Withdrawal(WithdrawOutcome.UNKNOWN)
    if not may_withdraw(actor, broadcast):
        return Withdrawal(WithdrawOutcome.NOT_ALLOWED, broadcast)
    before = broadcast.state
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.state.in_(WITHDRAWABLE))
        .values(state=BroadcastState.CANCELLED.value, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        await session.refresh(broadcast)
        return Withdrawal(WithdrawOutcome.ALREADY, broadcast)
    cancelled = affected_rows(await session.execute(
        update(BroadcastDelivery)
        .where(BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state == DeliveryState.PENDING.value)
        .values(state=DeliveryState.FAILED.value, last_error=WITHDRAWN_ERROR)
        .execution_options(synchronize_session=False)
    ))
    await session.refresh(broadcast)
    sent = int(await session.scalar(
        select(func.count()).select_from(BroadcastDelivery).where(
            BroadcastDelivery.broadcast_id == broadcast_id,
            BroadcastDelivery.state.in_((DeliveryState.SENT.value, DeliveryState.SENDING.value)),
        )
    ) or 0)
    await audit.record(session, actor=actor, action="broadcast.withdraw", at=now, target=f"broadcast:{broadcast.id}",
                       detail={"from": before, "cancelled": cancelled})
    return Withdrawal(WithdrawOutcome.WITHDRAWN, broadcast, cancelled, sent)
