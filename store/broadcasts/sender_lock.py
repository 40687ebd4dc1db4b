"""One broadcast sender per database at a time: a PostgreSQL session-level advisory lock.

Rows are already claimed one by one (``outbox.claim``: ``FOR UPDATE SKIP LOCKED`` and a conditional
update), so two senders never send the same row. The lock adds what row claims cannot give when several
bot processes share one database (webhook workers behind a proxy):

* **one pace.** ``BROADCAST_RATE`` is the bot's overall limit at Telegram; two senders side by side would
  each take the whole of it and draw 429s for everybody;
* **immediate takeover.** Every sender holds the lock while it holds rows, so whoever gets the lock knows
  that rows still ``sending`` belong to a sender that is gone: it returns them to ``pending`` (marked
  uncertain) at once, also when the dead process ran on another host. PostgreSQL releases the lock when
  the holder's connection ends, so a process killed with ``kill -9`` frees it within moments.

The lock is held on a connection of its own, outside any transaction (idle, not "idle in transaction").
If that connection broke while the process lived on, another process could take over and resend the
rows in flight: the same bound, counted the same way, as after a crash.

SQLite serves one bot process (``exclusive`` is False there: no lock, the in-process one is enough, and
rows held by another process, e.g. a ``broadcast send --wait``, are recovered by the older rules:
a dead process id on this host, or a claim older than ``BROADCAST_STALE_SECONDS``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# pg_advisory_lock's 64-bit key: the broadcast sender of this application (any constant both sides agree on).
SENDER_LOCK_KEY = 0x43_50_50_43_42_43_53_54  # "CPPCBCST"


@dataclass(frozen=True)
class SenderLock:
    """The outcome of asking for the lock."""

    held: bool  # this process may send now
    exclusive: bool  # no other sender can hold rows: every ``sending`` row is a dead sender's


@asynccontextmanager
async def sender_lock(engine: AsyncEngine, *, wait: bool = False) -> AsyncIterator[SenderLock]:
    """Hold the sender lock for the ``async with`` block; ``wait=False`` gives up at once if it is taken."""
    if engine.dialect.name != "postgresql":
        yield SenderLock(held=True, exclusive=False)
        return
    async with engine.connect() as conn:
        if wait:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SENDER_LOCK_KEY})
            held = True
        else:
            held = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": SENDER_LOCK_KEY}))
        await conn.commit()  # a session-level lock outlives the transaction; the connection stays idle
        try:
            yield SenderLock(held=held, exclusive=held)
        finally:
            if held:
                try:
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SENDER_LOCK_KEY})
                    await conn.commit()
                except BaseException:  # never give a connection that may still hold the lock back to the pool
                    log.warning("could not release the broadcast sender lock; dropping its connection")
                    await conn.invalidate()
                    raise
