"""Which updates this process can tell apart as new without asking the database (long polling).

Long polling has one consumer of the bot's updates, and Telegram numbers updates in increasing order.
An update can be delivered again only after a restart (the batch fetched before the crash) or when a
test feeds it twice. So once the process knows the highest ``update_id`` marked before it started
(``store.updates.highest``, read once), an update above that mark, and not already seen by this
process, cannot have been handled: the per-update ``is_processed`` query (a database round trip on
every update, issue #12's load target) is needed only for the others.

Ids seen here are kept in a bounded set; when it is trimmed, the mark rises past every dropped id, so
those ids are checked against the database again. Webhook workers don't use this (several of them
share the updates): they claim every update first (``CppccApplication.claim_before_handling``).
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from store import updates as updates_repo

KEEP = 20_000  # ids of this process remembered; more are trimmed to the newest half


class ProcessedIds:
    """The update ids this process has begun to handle, above the mark found at start."""

    def __init__(self, keep: int = KEEP) -> None:
        self._mark: int | None = None  # every id ≤ mark may have been handled: ask the database
        self._seen: set[int] = set()
        self._keep = keep
        self._lock = asyncio.Lock()

    async def surely_new(self, session: AsyncSession, update_id: int) -> bool:
        """True when ``update_id`` was never handled (no query needed); False: ask the database.

        The first call reads the mark in ``session``'s transaction. Either way the id counts as seen
        from now on, so a second delivery to this process is checked.
        """
        if self._mark is None:
            async with self._lock:
                if self._mark is None:
                    self._mark = await updates_repo.highest(session)
        new = update_id > self._mark and update_id not in self._seen
        self._seen.add(update_id)
        if len(self._seen) > self._keep:
            self._trim()
        return new

    def _trim(self) -> None:
        ordered = sorted(self._seen)
        dropped, kept = ordered[: len(ordered) // 2], ordered[len(ordered) // 2:]
        assert self._mark is not None
        self._mark = max(self._mark, dropped[-1])
        self._seen = {i for i in kept if i > self._mark}
