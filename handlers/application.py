"""The Application subclass that wraps every update in one unit of work, exactly once."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, ExtBot

from handlers.context import BotContext, Services, UnitOfWork, reset_current_uow, services_of, set_current_uow
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

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as exc:
            if not is_stale_query_error(exc):
                raise
            log.info("button press already answered or too old: %s", exc.message)
            return False


class CppccApplication(Application[ExtBot[int], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]):
    """Handles each ``Update`` inside a database transaction that also records its ``update_id``.

    A redelivered update (same ``update_id``) whose effects were committed is skipped. If a
    handler fails, its effects are rolled back and the update is still marked, so it is not
    retried forever; the error handler has already told the user.
    """

    @property
    def services(self) -> Services:
        return services_of(self)

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        services = self.services
        async with services.db.sessionmaker() as session:
            if not await updates_repo.claim(session, update_id=update.update_id, at=services.clock()):
                log.info("update %s already processed; skipped", update.update_id)
                return
            uow = UnitOfWork(session=session)
            token = set_current_uow(uow)
            try:
                await super().process_update(update)
            finally:
                reset_current_uow(token)
            try:
                if uow.failed:
                    await session.rollback()
                    await updates_repo.mark_processed(
                        session, update_id=update.update_id, at=services.clock(), failed=True
                    )
                await session.commit()
            except IntegrityError:
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
