"""The Application subclass that wraps every update in one unit of work, exactly once."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import BadRequest
from telegram.ext import Application, ExtBot

from handlers.context import (
    BotContext,
    Services,
    UnitOfWork,
    UpdateAlreadyProcessed,
    current_uow,
    reset_current_uow,
    services_of,
    set_current_uow,
)
from handlers.processed_ids import ProcessedIds
from store import updates as updates_repo

log = logging.getLogger(__name__)


def is_stale_query_error(error: BadRequest) -> bool:
    """Telegram's refusal to answer a button press that was already answered or is too old."""
    message = error.message.lower()
    return "query is too old" in message or "query id is invalid" in message


class CppccBot(ExtBot[int]):
    """The bot, tolerant of one harmless refusal: answering a press that was answered before.

    After a crash, Telegram redelivers the button press; its first answer went out before the crash, so
    the second is refused with 400. Letting that error escape would roll back the work the member asked
    for, wherever in a handler the answer happens.
    """

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        """Every Bot API call of an update first ends the update's open transaction (no lock across it)."""
        uow = current_uow()
        if uow is not None:
            await uow.before_network()
        return await super()._do_post(endpoint, data, read_timeout=read_timeout, write_timeout=write_timeout,
                                      connect_timeout=connect_timeout, pool_timeout=pool_timeout)

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as exc:
            if not is_stale_query_error(exc):
                raise
            log.info("button press already answered or too old: %s", exc.message)
            return False


class CppccApplication(Application[ExtBot[int], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]):
    """Handles each ``Update`` in one session whose short transactions record its ``update_id``.

    The mark commits together with the update's first writes (``UnitOfWork``), and no transaction stays
    open across a Bot API call. A redelivered update whose mark was committed is skipped. If a handler
    fails, its uncommitted effects are rolled back and the update is still marked, so it is not retried
    forever; the error handler has already told the user.
    """

    # Webhook workers (``cppcc-bot webhook``) claim each update in its own committed statement before any
    # handler runs. Telegram may post an update again while a first delivery is still being handled (a
    # slow answer, a retry through the proxy to another worker); with the mark committed only with the
    # first writes, both workers would run it: a read-only update (/help) would be answered twice, and
    # the loser of a writing one would be rolled back after its first replies went out. Claiming first
    # makes the second delivery a no-op. The price: an update whose worker dies after the claim is not
    # applied again; but a webhook worker acknowledges an update (HTTP 200) as soon as it is queued, so
    # Telegram would not have redelivered it anyway. Long polling (``run``, one process) keeps the mark
    # with the first writes, so an update interrupted before its first commit is applied on redelivery.
    claim_before_handling: bool = False

    # Long polling (one consumer): ids above the highest mark found at start skip the is_processed query.
    processed_ids: ProcessedIds | None = None

    @property
    def services(self) -> Services:
        return services_of(self)

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        services = self.services
        async with services.db.sessionmaker() as session:
            if self.claim_before_handling:
                claimed = await updates_repo.claim(session, update_id=update.update_id, at=services.clock(),
                                                   then_commit=True)
                await session.commit()
            else:  # the read stays the first statement of the update's transaction
                seen = self.processed_ids
                claimed = (seen is not None and await seen.surely_new(session, update.update_id)) or not (
                    await updates_repo.is_processed(session, update_id=update.update_id))
            if not claimed:
                await session.rollback()
                log.info("update %s already processed; skipped", update.update_id)
                return
            uow = UnitOfWork(session=session, update_id=update.update_id, clock=services.clock,
                             claimed=self.claim_before_handling)
            token = set_current_uow(uow)
            try:
                await super().process_update(update)
            finally:
                uow.finished = True
                reset_current_uow(token)
            try:
                if uow.duplicate:
                    await session.rollback()
                elif uow.failed:
                    await session.rollback()
                    await updates_repo.mark_processed(
                        session, update_id=update.update_id, at=services.clock(), failed=True
                    )
                    await session.commit()
                else:
                    await uow.commit()
            except (IntegrityError, UpdateAlreadyProcessed):
                # Another worker committed the same update concurrently; its effects stand.
                await session.rollback()
                log.warning("update %s was processed concurrently", update.update_id)
        for work in uow.after:  # the update's transaction no longer holds any lock
            try:
                await work()
            except Exception:
                log.exception("follow-up work of update %s failed", update.update_id)


def mark_current_failed() -> None:
    """Called by the error handler: roll back the current update's effects."""
    from handlers.context import current_uow

    uow = current_uow()
    if uow is not None:
        uow.failed = True
