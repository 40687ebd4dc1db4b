"""Updates of different chats run concurrently (bounded); updates of one chat run one after another, in order.

PTB's ``BaseUpdateProcessor`` gets every update in arrival order, each in a task of its own. This
processor chains the updates of one chat (the chat, else the sender): an update starts only when the
previous update of its chat has finished, so a conversation never sees its own messages out of order.
Updates of different chats run side by side, at most ``max_running`` at once (FIFO).

PTB's own semaphore (``max_concurrent_updates``) counts updates accepted, waiting or running; it is set
high (``max_accepted``) so that a busy chat's queued updates never take the places of other chats.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_RUNNING = 64
DEFAULT_ACCEPTED = 65_536


def ordering_key(update: object) -> Hashable | None:
    """The conversation an update belongs to: its chat, else its sender; None for neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats (at most ``max_running``), sequential and in arrival order within a chat."""

    __slots__ = ("_running", "_tails", "max_running")

    def __init__(self, max_running: int = DEFAULT_RUNNING, *, max_accepted: int = DEFAULT_ACCEPTED) -> None:
        if max_running < 1:
            raise ValueError("max_running must be a positive integer")
        super().__init__(max(max_accepted, max_running, 2))
        self.max_running = max_running
        self._running = asyncio.Semaphore(max_running)
        # The last update of each busy chat: the next one of that chat waits for it to finish.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    @property
    def busy_chats(self) -> int:
        """Chats with an update waiting or running."""
        return len(self._tails)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            await self._run(coroutine)
            return
        # No await before this point: tasks reach here in arrival order, so the chain keeps that order.
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if previous is not None:
                await asyncio.shield(previous)  # a cancelled waiter must not cancel its predecessor's mark
            await self._run(coroutine)
        finally:
            if not mine.done():
                mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        started = False
        try:
            async with self._running:
                started = True
                await coroutine
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting (shutdown): never started, never awaited

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB waits for the running updates itself."""
