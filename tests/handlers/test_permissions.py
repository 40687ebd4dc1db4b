"""The permission matrix: every staff command and staff button, for member, unbound user, staff and admin,
in private chats and in groups.

* member and unbound user are refused with the right text (``STAFF_ONLY`` / ``UNBOUND``) and nothing
  changes in the database (a snapshot of every table's rows, minus the processed-update marks);
* staff and admin get a reply that is neither an error nor a refusal;
* in groups the bot answers only commands addressed to it (``/cmd``, ``/cmd@<bot username>``), with
  ``PRIVATE_ONLY`` and nothing else, whoever asks — never member data there.

CLI exports (``proposals export``, ``credits report``, ``members list``, ``broadcast status``) are a local
administrator tool: using them needs a shell on the server and access to the data directory, so they
have no role check of their own. What is checked here instead is that Telegram never exposes them:
no Telegram command exports anything, and their look-alikes reveal nobody's data to anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import CommandHandler

from bot.app import FEATURES
from handlers import texts
from handlers.context import BotApplication, Services
from handlers.registry import staff_commands
from store.models import Base, Member
from store.proposals.config import ProposalsConfig
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue, Replies

MEMBER, STAFF, ADMIN, UNBOUND = 1001, 9001, 9002, 5002
ROLES = {"member": MEMBER, "unbound": UNBOUND, "staff": STAFF, "admin": ADMIN}
GROUP = -1_001_234_567_890
PEOPLE = (
    {"name": "张明", "telegram_id": MEMBER, "phone": "13800000001"},
    {"name": "王芳", "telegram_id": 1002, "phone": "13800000002"},
    {"name": "李干事", "role": "staff", "telegram_id": STAFF},
    {"name": "周主任", "role": "admin", "telegram_id": ADMIN},
    {"name": "陈静", "phone": "13800000009"},  # awaiting binding: has an invite code
)
# Every staff command must be listed here with a meaningful argument (see test_matrix_covers_every_staff_command).
STAFF_COMMANDS = {
    "event": ["/event", "/event 学习会 | 会议 | 明天 9:00 | 明天 11:00"],
    "broadcast": ["/broadcast", "/broadcast status"],
    "review": ["/review"],
    "stats": ["/stats", "/stats 2026"],
    "gaps": ["/gaps"],
    "faq": ["/faq 委员可以请假吗 | 可以，向办公室书面请假。"],
    "console": ["/console"],
    "quiz_review": ["/quiz_review"],
}
REFUSALS = {texts.STAFF_ONLY, texts.UNBOUND, texts.PRIVATE_ONLY, texts.STAFF_ONLY[:190], texts.UNBOUND[:190]}


def staff_buttons(proposal_id: int) -> list[str]:
    """Valid-looking data for every button guarded by ``require_staff`` (see the handlers' patterns)."""
    return [
        "bc:skip", "bc:all", "bc:cancel", f"bc:st:{proposal_id}",  # handlers/broadcast.py draft_button, status_button
        f"bc:wd:{proposal_id}", f"bc:wdy:{proposal_id}",  # handlers/broadcast_status.py withdraw_button
        "bcr:ok:1", "bcr:no:1",  # handlers/broadcast_review.py review_button (批准 / 退回)
        "crs:uphold:1", "crs:correct:1",  # handlers/credits_view.py dispute_button
        f"wjy:s:{proposal_id}", f"wjy:a:{proposal_id}:acc", f"wjy:a:{proposal_id}:rej",  # handlers/review.py
        f"wjy:m:{proposal_id}:{proposal_id}", "wjy:q:0",
    ]


@pytest.fixture
async def world(roster, chat: Dialogue, services: Services) -> int:
    """The people, and one submitted proposal by 王芳 (its id is returned) for the staff buttons to act on."""
    await roster(*PEOPLE)
    await chat.send(1002, "/propose 建议在城关区增设公共自行车停放点，方便市民出行。")
    await chat.tap(1002, services.config(ProposalsConfig).categories[0])
    submitted = await chat.tap(1002, texts.BTN_CONFIRM)
    assert submitted.texts and submitted.texts[0].startswith(texts.PROPOSAL_SUBMITTED.split("{")[0])
    listing = await chat.send(1002, "/my")
    found = chat.fake.api.find_button(1002, listing.buttons[0])
    assert found is not None
    return int(found[1].split(":")[2])


async def snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the processed-update marks excepted), in primary-key order."""
    tables = {}
    async with services.db.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "processed_updates":
                continue
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def actions(proposal_id: int) -> Iterator[tuple[str, str]]:
    for command_texts in STAFF_COMMANDS.values():
        for text in command_texts:
            yield "command", text
    for data in staff_buttons(proposal_id):
        yield "button", data


async def act(chat: Dialogue, user: int, kind: str, what: str) -> Replies:
    """Send the command, or press a button with that data on the newest message the bot sent the user."""
    if kind == "command":
        return await chat.send(user, what)
    mine = chat.fake.api.messages.get(user, {})
    newest = next((mine[i] for i in sorted(mine, reverse=True) if mine[i].get("from", {}).get("is_bot")), None)
    return await chat.process(chat.fake.api.user_presses(user, what, message=newest))


def test_matrix_covers_every_staff_command() -> None:
    declared = {c.name for c in staff_commands(FEATURES)}
    assert declared == set(STAFF_COMMANDS), "a staff command was added or removed: update STAFF_COMMANDS"


# ---- private chats --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "unbound"])
async def test_non_staff_are_refused_and_nothing_changes(chat: Dialogue, fake: FakeBotApi, services: Services,
                                                         world: int, role: str) -> None:
    user = ROLES[role]
    expected = texts.STAFF_ONLY if role == "member" else texts.UNBOUND
    for kind, what in actions(world):
        before, since = await snapshot(services), fake.mark()
        replies = await act(chat, user, kind, what)
        shown = [(r.method, r.text) for r in replies]
        if kind == "command":
            assert shown == [("sendMessage", expected)], what
        else:
            assert shown == [("answerCallbackQuery", expected[:190])], what
        assert [c for c in fake.replies_since(since) if c.chat_id != user] == [], what  # nobody else hears of it
        assert await snapshot(services) == before, f"{what} changed the database for a {role}"


@pytest.mark.parametrize("role", ["staff", "admin"])
async def test_staff_and_admin_are_served(chat: Dialogue, fake: FakeBotApi, services: Services, world: int,
                                          role: str) -> None:
    user = ROLES[role]
    for kind, what in actions(world):
        replies = await act(chat, user, kind, what)  # fails on any handler error
        shown = [r.text for r in replies if r.text]
        assert shown, f"{what}: no reply for {role}"
        assert not REFUSALS & set(shown), f"{what}: {role} was refused: {shown}"
        assert texts.ERROR not in shown
        await chat.send(user, "/cancel")  # leave no prompt or draft waiting for the next action


# ---- groups -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLES))
async def test_groups_get_only_private_only_for_commands_addressed_to_us(
    chat: Dialogue, fake: FakeBotApi, services: Services, bot_app: BotApplication, world: int, role: str
) -> None:
    user, username = ROLES[role], bot_app.bot.username
    assert username
    before, start = await snapshot(services), fake.mark()
    for texts_ in STAFF_COMMANDS.values():
        for text in texts_:
            command, _, rest = text.partition(" ")
            for addressed in (text, f"{command}@{username} {rest}", f"{command}@{username.upper()}"):
                since = fake.mark()
                replies = await chat.send(user, addressed, chat_type="supergroup", chat_id=GROUP)
                assert replies.texts == [texts.PRIVATE_ONLY], addressed
                assert [c.chat_id for c in fake.replies_since(since)] == [GROUP], addressed  # nothing elsewhere
            since = fake.mark()
            assert await chat.send(user, f"{command}@otherbot {rest}", chat_type="group", chat_id=GROUP) == []
            assert await chat.send(user, "大家好，" + text, chat_type="group", chat_id=GROUP) == []
            assert fake.replies_since(since) == []
    in_group = fake.api.user_sends(user, "看看这个按钮", chat_type="supergroup", chat_id=GROUP)["message"]
    for data in staff_buttons(world):
        since = fake.mark()
        replies = await chat.process(fake.api.user_presses(user, data, message=in_group))
        assert [(r.method, r.text) for r in replies] == [("answerCallbackQuery", texts.PRIVATE_ONLY)], data
        assert [c.method for c in fake.replies_since(since)] == ["answerCallbackQuery"], data
    assert await snapshot(services) == before
    assert fake.replies_since(start, chat_id=STAFF_CHAT_ID) == []


# ---- CLI exports are not reachable from Telegram ------------------------------------------------------

EXPORT_LOOKALIKES = ["/proposals export", "/export", "/credits report", "/members list", "/members",
                     "/broadcast status", "/report", "/list"]


def test_no_telegram_command_exports(bot_app: BotApplication) -> None:
    commands = {c for group in bot_app.handlers.values() for h in group if isinstance(h, CommandHandler)
                for c in h.commands}
    assert {"start", "help", "review", "stats"} <= commands  # the probe itself works
    assert not commands & {"export", "proposals", "members", "report", "list", "roster", "xlsx"}


@pytest.mark.parametrize("role", list(ROLES))
async def test_export_lookalikes_reveal_no_one_elses_data(chat: Dialogue, fake: FakeBotApi, services: Services,
                                                          world: int, role: str) -> None:
    user = ROLES[role]
    async with services.db.session() as session:
        people = list(await session.scalars(select(Member)))
    me = next((m for m in people if m.telegram_id == user), None)
    secrets = [s for m in people if m is not me for s in (m.name, m.phone, m.invite_code) if s]
    since = fake.mark()
    for text in EXPORT_LOOKALIKES:
        replies = await chat.send(user, text)
        assert replies.texts, text
    calls = fake.replies_since(since)
    assert {c.chat_id for c in calls} == {user}
    assert not [c for c in calls if c.method in ("sendDocument", "sendMediaGroup")]
    if role in ("member", "unbound"):
        leaked = [s for c in calls for s in secrets if s in (c.text or "")]
        assert leaked == [], f"{role} saw other people's data: {leaked}"
