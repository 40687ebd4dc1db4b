"""What handlers get from the composition root: services, the per-update unit of work, the member."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from store import members as members_repo
from store import pending as pending_repo
from store.db import Database
from store.models import Member
from store.pending import NOTHING_PENDING, Pending
from store.preferences import PrefsDefaults
from store.types import Clock, utcnow

if TYPE_CHECKING:
    from telegram import Update


@dataclass
class Services:
    """Everything a handler may use. Built once by ``bot`` and stored in ``bot_data``."""

    db: Database
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    clock: Clock = utcnow
    staff_chat_id: int | None = None
    bot_username: str | None = None
    knowledge: Any = None  # knowledge.service.KnowledgeBase, or None when the KB is disabled
    features: dict[str, Any] = field(default_factory=dict)
    # Quiet hours and topics for members who have not set their own (QUIET_HOURS_DEFAULT).
    prefs_defaults: PrefsDefaults = field(default_factory=PrefsDefaults)


@dataclass
class UnitOfWork:
    """One database session per update; effects and the processed-update mark commit together."""

    session: AsyncSession
    failed: bool = False
    member_loaded: bool = False
    member: Member | None = None
    # Drafts waiting for the sender's next message, read together with the member (``pending_input``).
    pending: Pending | None = None
    # Work for after this update's transaction is over (committed or rolled back), in sessions of its own.
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


_current_uow: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar("uow", default=None)


def set_current_uow(uow: UnitOfWork | None) -> contextvars.Token[UnitOfWork | None]:
    return _current_uow.set(uow)


def reset_current_uow(token: contextvars.Token[UnitOfWork | None]) -> None:
    _current_uow.reset(token)


def current_uow() -> UnitOfWork | None:
    return _current_uow.get()


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Typed callback context giving handlers their services, session and member."""

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]  # type: ignore[no-any-return]

    @property
    def uow(self) -> UnitOfWork:
        uow = current_uow()
        if uow is None:
            raise RuntimeError("no unit of work: handler ran outside CppccApplication.process_update")
        return uow

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    async def commit(self) -> None:
        """Commit what the handler did so far (before telling the user it is recorded)."""
        await self.session.commit()

    async def member(self, update: Update) -> Member | None:
        """The bound, active member who sent ``update``, or None."""
        uow = self.uow
        if not uow.member_loaded:
            user = update.effective_user
            found = None
            if user is not None:
                found = await members_repo.get_by_telegram_id(uow.session, telegram_id=user.id)
            self._settle_member(uow, found)
        return uow.member

    async def pending_input(self, update: Update) -> Pending:
        """Drafts waiting for the sender's next message; loads the member in the same query."""
        uow = self.uow
        if uow.pending is None:
            user = update.effective_user
            if user is None:
                uow.pending = NOTHING_PENDING
            else:
                found, uow.pending = await pending_repo.member_with_pending(uow.session, telegram_id=user.id)
                if not uow.member_loaded:
                    self._settle_member(uow, found)
        return uow.pending

    def _settle_member(self, uow: UnitOfWork, found: Member | None) -> None:
        if found is not None:
            # Writing to us proves a member who had blocked the bot has unblocked it.
            members_repo.reactivate_if_unblocked(found, now=self.services.clock())
        uow.member = found if found is not None and found.active else None
        uow.member_loaded = True

    def now(self) -> Any:
        return self.services.clock()


BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
