"""Statements per update (issue #7): a /help from a member is one read of the processed-update ledger, one
read of the member, and the processed-update mark, written after the reply (issue #12: no transaction is
open while the bot waits on Telegram).

What waits for the member's input (every kind of draft, read together with the member: store.pending) is
covered by tests/handlers/test_pending_flows.py."""

from __future__ import annotations

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


@pytest.fixture
def statements(services: Services) -> Iterator[list[str]]:
    """The SQL statements the application sends (commit and rollback are not statements)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def test_help_from_a_member_is_three_statements(
    chat: Dialogue, people: list[Member], statements: list[str]
) -> None:
    await chat.send(MEMBER, "/help")  # warm-up: the start-up work of the first update
    statements.clear()
    replies = await chat.send(MEMBER, "/help")
    assert replies.texts and texts.HELP_MEMBER_HEAD in replies.text
    # the ledger check, the member read together with any draft waiting for input, then the mark
    assert len(statements) == 3, statements
    assert statements[0].startswith("SELECT processed_updates.update_id")
    waits = ("proposal_drafts", "broadcast_drafts", "credit_checkin_drafts", "credit_disputes",
             "credit_event_attempts", "credit_event_checkins")
    assert all(table in statements[1] for table in waits), statements[1]
    assert statements[2].startswith("INSERT INTO processed_updates")

