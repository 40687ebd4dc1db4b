"""What handlers get from the composition root: services, the per-update unit of work, the member."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from store import members as members_repo
from store import pending as pending_repo
from store import updates as updates_repo
from store.db import Database, has_writes
from store.models import Member
from store.pending import NOTHING_PENDING, Pending
from store.preferences import PrefsDefaults
from store.types import Clock, utcnow

if TYPE_CHECKING:
    from telegram import Update

    from knowledge.embedders import Embedder
    from knowledge.faq import FaqMatcher
    from knowledge.models import Answer

C = TypeVar("C")


class KnowledgeService(Protocol):
    """What handlers use of the knowledge base (``knowledge.service.KnowledgeBase`` implements it)."""

    @property
    def embedder(self) -> Embedder | None: ...

    async def aanswer(self, question: str, *, history: list[tuple[str, str]] | None = None, k: int = 5) -> Answer: ...

    def article_text(self, source: str, article: str) -> str | None: ...


class FeatureConfigs:
    """The features' configuration objects, found by their type: ``services.config(ProposalsConfig)``.

    Built once by ``bot.services``. Asking for a type nobody provided raises KeyError naming it: a feature
    never runs on silent defaults because its configuration was registered under another name.
    """

    def __init__(self, *configs: object) -> None:
        self._by_type: dict[type[Any], object] = {}
        for config in configs:
            kind = type(config)
            if kind in self._by_type:
                raise ValueError(f"two configurations of type {kind.__qualname__}")
            self._by_type[kind] = config

    def replace(self, config: object) -> None:
        """Swap in another configuration of a type already provided (tests point a feature elsewhere)."""
        if type(config) not in self._by_type:
            raise KeyError(f"no {type(config).__qualname__} configured to replace")
        self._by_type[type(config)] = config

    def get(self, kind: type[C]) -> C:
        found = self._by_type.get(kind)
        if not isinstance(found, kind):
            raise KeyError(f"no {kind.__qualname__} configured (bot.services.build_services provides them)")
        return found


@dataclass
class Services:
    """Everything a handler may use. Built once by ``bot`` and stored in ``bot_data``."""

    db: Database
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    clock: Clock = utcnow
    staff_chat_id: int | None = None
    bot_username: str | None = None
    knowledge: KnowledgeService | None = None  # None when the knowledge base is disabled or failed to open
    configs: FeatureConfigs = field(default_factory=FeatureConfigs)
    # Quiet hours and topics for members who have not set their own (QUIET_HOURS_DEFAULT).
    prefs_defaults: PrefsDefaults = field(default_factory=PrefsDefaults)
    # The matcher over the active FAQ (``handlers.ask``), rebuilt after staff change the FAQ.
    faq_matcher: FaqMatcher | None = None
    faq_revision: int | None = None  # the FAQ revision (store.app_state) the matcher was built at

    def config(self, kind: type[C]) -> C:
        """The feature configuration of type ``kind``, e.g. ``ProposalsConfig``; KeyError when not provided."""
        return self.configs.get(kind)


class UpdateAlreadyProcessed(Exception):
    """Another worker committed this update first; this one's effects were rolled back."""


@dataclass
class UnitOfWork:
    """One database session per update, in short transactions that never span a network call.

    The processed-update mark is written with the update's first committed writes (``commit``); every
    Bot API call, and every wait on a model or an embedding endpoint (``before_network``), first ends
    the open transaction: writes are committed (with the mark), reads just give the connection back.
    So a crash after the member was told something is recorded finds it recorded and the update
    marked (skipped on redelivery), and an update that wrote nothing before the crash is applied again.
    """

    session: AsyncSession
    update_id: int | None = None  # None: no processed-update mark (work outside an update)
    clock: Clock = utcnow
    claimed: bool = False  # the processed-update mark is committed
    duplicate: bool = False  # another worker had committed the update: ours was rolled back
    failed: bool = False
    # The task handling the update: tasks it starts inherit the context variable, never the session.
    owner: asyncio.Task[Any] | None = field(default_factory=asyncio.current_task)
    finished: bool = False  # the handlers are done; only CppccApplication touches the session now
    member_loaded: bool = False
    member: Member | None = None
    # Drafts waiting for the sender's next message, read together with the member (``pending_input``).
    pending: Pending | None = None
    # Work for after this update's transaction is over (committed or rolled back), in sessions of its own.
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def commit(self) -> None:
        """Commit the work so far together with the processed-update mark (written once, first time)."""
        if self.update_id is not None and not self.claimed:
            await self.session.flush()  # every write before the mark (which may commit in its own trip)
            if not await updates_repo.claim(self.session, update_id=self.update_id, at=self.clock(),
                                            then_commit=True):
                await self.session.rollback()
                self.duplicate = True
                raise UpdateAlreadyProcessed(f"update {self.update_id} was processed by another worker")
            self.claimed = True
        await self.session.commit()

    async def before_network(self) -> None:
        """End the open transaction before a network call: commit writes, end a read-only one.

        A failed update's writes are rolled back instead (the error handler tells the user first).
        """
        session = self.session
        if self.finished or asyncio.current_task() is not self.owner or not session.in_transaction():
            return
        if self.failed or self.duplicate:
            await session.rollback()
        elif has_writes(session):
            await self.commit()
        else:
            await session.commit()  # nothing written: no mark yet, the connection goes back to the pool


SERVICES_KEY = "services"  # where ``bot.app.build_application`` keeps the Services in ``bot_data``


def services_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The application's Services (``bot_data`` is a plain dict; this is the one typed way in)."""
    services = app.bot_data[SERVICES_KEY]
    if not isinstance(services, Services):
        raise RuntimeError(f"bot_data[{SERVICES_KEY!r}] holds no Services")
    return services


_current_uow: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar("uow", default=None)


def set_current_uow(uow: UnitOfWork | None) -> contextvars.Token[UnitOfWork | None]:
    return _current_uow.set(uow)


def reset_current_uow(token: contextvars.Token[UnitOfWork | None]) -> None:
    _current_uow.reset(token)


def current_uow() -> UnitOfWork | None:
    return _current_uow.get()


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Typed callback context giving handlers their services, session and member."""

    @property
    def application(self) -> BotApplication:  # type: ignore[override]  # PTB leaves the context type unbound
        """The application, typed with this context class (PTB's annotation leaves the context type open)."""
        return cast("BotApplication", super().application)

    @property
    def services(self) -> Services:
        return services_of(self.application)

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
        await self.uow.commit()

    async def before_network(self) -> None:
        """End the update's open transaction before waiting on the network (a model, an embedding endpoint).

        Bot API calls do this themselves (``CppccBot``); call it before any other slow outside call.
        """
        await self.uow.before_network()

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
        """What waits for the sender's next message (every flow, newest first); loads the member in the same query."""
        uow = self.uow
        if uow.pending is None:
            user = update.effective_user
            if user is None:
                uow.pending = NOTHING_PENDING
            else:
                found, uow.pending = await pending_repo.member_with_pending(
                    uow.session, telegram_id=user.id, now=self.services.clock())
                if not uow.member_loaded:
                    self._settle_member(uow, found)
        return uow.pending

    def _settle_member(self, uow: UnitOfWork, found: Member | None) -> None:
        if found is not None:
            # Writing to us proves a member who had blocked the bot has unblocked it.
            members_repo.reactivate_if_unblocked(found, now=self.services.clock())
        uow.member = found if found is not None and found.active else None
        uow.member_loaded = True

    def now(self) -> datetime:
        return self.services.clock()


BotApplication = Application[ExtBot[int], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
