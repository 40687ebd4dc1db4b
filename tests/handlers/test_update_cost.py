"""Statements per update (issue #7): a /help from a member is one read of the member and the processed-update
mark, written after the reply (issue #12: no transaction is open while the bot waits on Telegram). Long
polling reads the processed-update ledger only for an update it may have seen (``handlers.processed_ids``):
one at or below the highest mark found at start, or delivered twice.

What waits for the member's input (every kind of draft, read together with the member: store.pending) is
covered by tests/handlers/test_pending_flows.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from handlers import texts
from handlers.context import Services
from store.models import Member
from tests.fakes.dialogue import Dialogue

MEMBER, STAFF = 1001, 9001


@pytest.fixture
async def people(roster) -> list[Member]:
    return await roster({"name": "张明", "telegram_id": MEMBER},
                        {"name": "李干事", "role": "staff", "telegram_id": STAFF})


class Statements(list[str]):
    """SQL statements of one task: ``clear()`` starts counting those of the task that calls it."""

    owner: asyncio.Task[Any] | None = None

    def clear(self) -> None:
        super().clear()
        self.owner = asyncio.current_task()


@pytest.fixture
def statements(services: Services) -> Iterator[Statements]:
    """The SQL statements sent while handling the test's own updates (commit and rollback are not statements).

    ``Dialogue`` runs each update in the test's task; a job that happens to run meanwhile (a sender pass
    started at start-up, slow under libfaketime) works in a task of its own and is not counted.
    """
    seen = Statements()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop in this thread
            task = None
        if seen.owner is not None and task is seen.owner:
            seen.append(" ".join(statement.split()))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def no_jobs(chat: Dialogue) -> None:
    """The bot's periodic jobs (outboxes, photo downloads) would add their statements to the count."""
    jobs = chat.app.job_queue
    assert jobs is not None
    for job in jobs.jobs():
        job.enabled = False


WAITS = ("proposal_drafts", "broadcast_drafts", "credit_checkin_drafts", "credit_disputes",
         "credit_event_attempts", "credit_event_checkins", "learning_materials", "broadcast_return_prompts")


async def test_help_from_a_member_is_two_statements(
    chat: Dialogue, people: list[Member], statements: Statements, no_jobs: None
) -> None:
    await chat.send(MEMBER, "/help")  # warm-up: the start-up work of the first update (reads the highest mark)
    statements.clear()
    replies = await chat.send(MEMBER, "/help")
    assert replies.texts and texts.HELP_MEMBER_HEAD in replies.text
    # the member read together with any draft waiting for input, then the mark
    assert len(statements) == 2, statements
    assert all(table in statements[0] for table in WAITS), statements[0]
    assert statements[1].startswith("INSERT") and "INTO processed_updates" in statements[1]


async def test_credits_checkin_and_its_confirmation_count_their_statements(
    chat: Dialogue, people: list[Member], statements: Statements, no_jobs: None, services: Services
) -> None:
    await chat.send(MEMBER, "/help")
    statements.clear()
    assert texts.CREDITS_RECENT_HEAD not in (await chat.send(MEMBER, "/credits")).text
    # the member with what waits, the standing and band (one statement), the last entries, the reminder
    # preference, the mark
    assert len(statements) == 5, statements
    statements.clear()
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    # the member with what waits, the old draft removed, the new one, the mark
    assert len(statements) == 4, statements
    statements.clear()
    replies = await chat.tap(MEMBER, texts.BTN_CONFIRM)
    assert replies.texts
    # the member, the draft; then consumed, the check-in, the caps (one statement), the entry (one INSERT … ON
    # CONFLICT DO NOTHING), the year's total, the mark; on PostgreSQL the member's row is locked first
    assert len(statements) == (8 if services.db.is_sqlite else 9), statements
    assert sum("credit_entries" in s and s.startswith("SELECT") for s in statements) == 2, statements


async def test_a_second_delivery_reads_the_ledger_and_is_skipped(
    chat: Dialogue, people: list[Member], statements: Statements, no_jobs: None
) -> None:
    await chat.send(MEMBER, "/help")
    first = await chat.send(MEMBER, "/help")
    statements.clear()
    again = await chat.process(first.update)
    assert again.texts == []
    assert len(statements) == 1 and statements[0].startswith("SELECT processed_updates.update_id"), statements

