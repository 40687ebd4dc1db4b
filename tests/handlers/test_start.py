"""Binding, the gate for unbound users, /help per role, and staff-only commands — as dialogues."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.commands.members import deep_link
from handlers import texts
from handlers.context import BotApplication, BotContext, Services
from handlers.guards import require_staff
from handlers.registry import CommandInfo, Feature
from handlers.start import MAX_FAILED_CODES
from store import members as members_repo
from store.models import Member
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue, with_features

MEMBER, STAFF, NEWCOMER, STRANGER = 1001, 9001, 5001, 5002
PEOPLE = (
    {"name": "张明", "telegram_id": MEMBER},
    {"name": "李干事", "role": "staff", "telegram_id": STAFF},
    {"name": "陈静"},  # awaiting binding
    {"name": "赵磊"},  # awaiting binding
)


@pytest.fixture
async def people(roster) -> list[Member]:
    return await roster(*PEOPLE)


async def telegram_id_of(services: Services, member: Member) -> int | None:
    async with services.db.session() as session:
        found = await members_repo.get(session, member_id=member.id)
        return None if found is None else found.telegram_id


# ---- binding ------------------------------------------------------------------------------------


async def test_start_with_code_binds_and_welcomes(chat: Dialogue, people: list[Member], services: Services) -> None:
    chen = people[2]
    replies = await chat.send(NEWCOMER, f"/start {chen.invite_code}")
    assert replies.texts == [texts.BOUND_WELCOME.format(name="陈静")]
    assert await telegram_id_of(services, chen) == NEWCOMER
    assert (await chat.send(NEWCOMER, "/start")).texts == [texts.WELCOME_BACK.format(name="陈静")]


async def test_deep_link_payload_binds(chat: Dialogue, people: list[Member], services: Services) -> None:
    link = deep_link("cppcc_demo_bot", people[2].invite_code or "")
    assert link is not None
    payload = parse_qs(urlsplit(link).query)["start"][0]
    # Opening t.me/<bot>?start=PAYLOAD makes the client send "/start PAYLOAD".
    replies = await chat.send(NEWCOMER, f"/start {payload}")
    assert replies.texts == [texts.BOUND_WELCOME.format(name="陈静")]
    assert await telegram_id_of(services, people[2]) == NEWCOMER


async def test_bare_code_binds_case_and_spaces_ignored(chat: Dialogue, people: list[Member]) -> None:
    code = people[2].invite_code or ""
    replies = await chat.send(NEWCOMER, f" {code[:4].lower()} {code[4:].lower()} ")
    assert replies.texts == [texts.BOUND_WELCOME.format(name="陈静")]


async def test_code_binds_only_one_account(chat: Dialogue, people: list[Member], services: Services) -> None:
    code = people[2].invite_code
    await chat.send(NEWCOMER, f"/start {code}")
    replies = await chat.send(STRANGER, f"/start {code}")
    assert replies.texts == [texts.CODE_UNKNOWN]  # the same reply as an unknown code
    assert await telegram_id_of(services, people[2]) == NEWCOMER
    assert (await chat.send(STRANGER, "/help")).texts == [texts.HELP_UNBOUND]


async def test_already_bound_account_cannot_take_another_code(chat: Dialogue, people: list[Member],
                                                              services: Services) -> None:
    replies = await chat.send(MEMBER, f"/start {people[3].invite_code}")
    assert replies.texts == [texts.ALREADY_BOUND.format(name="张明")]
    assert await telegram_id_of(services, people[3]) is None


async def test_wrong_code_is_refused(chat: Dialogue, people: list[Member]) -> None:
    assert (await chat.send(NEWCOMER, "/start ZZZZ2222")).texts == [texts.CODE_UNKNOWN]
    assert (await chat.send(NEWCOMER, "ZZZZ2222")).texts == [texts.CODE_UNKNOWN]


async def test_too_many_wrong_codes_locks_binding(chat: Dialogue, people: list[Member], services: Services) -> None:
    for _ in range(MAX_FAILED_CODES):
        assert (await chat.send(NEWCOMER, "/start ZZZZ2222")).texts == [texts.CODE_UNKNOWN]
    replies = await chat.send(NEWCOMER, f"/start {people[2].invite_code}")
    assert replies.texts == [texts.CODE_TOO_MANY]
    assert await telegram_id_of(services, people[2]) is None
    # Another account is not affected by this one's failures.
    assert (await chat.send(STRANGER, f"/start {people[2].invite_code}")).texts == [
        texts.BOUND_WELCOME.format(name="陈静")
    ]


async def test_binding_staff_publishes_staff_menu(chat: Dialogue, roster, fake: FakeBotApi) -> None:
    [officer] = await roster({"name": "王主任", "role": "staff"})
    await chat.send(NEWCOMER, f"/start {officer.invite_code}")
    scoped = fake.bot_calls("setMyCommands")[-1]
    assert scoped.params["scope"] == {"type": "chat", "chat_id": NEWCOMER}


async def test_redelivered_update_has_no_second_effect(chat: Dialogue, people: list[Member]) -> None:
    first = await chat.send(NEWCOMER, f"/start {people[2].invite_code}")
    assert first.texts == [texts.BOUND_WELCOME.format(name="陈静")]
    again = await chat.process(first.update)  # same update_id, e.g. after a crash before confirming
    assert again == []
    help_update = (await chat.send(MEMBER, "/help")).update
    assert await chat.process(help_update) == []


# ---- the gate: unbound users are turned away politely ---------------------------------------------


async def test_unbound_text_is_turned_away(chat: Dialogue, fake: FakeBotApi, people: list[Member]) -> None:
    since = fake.mark()
    replies = await chat.send(STRANGER, "你好，我想问一下提案的事")
    assert replies.texts == [texts.UNBOUND]
    assert len(fake.replies_since(since)) == 1  # nothing to anyone else (no staff alert, no question log)


@pytest.mark.parametrize("kind", ["photo", "sticker", "location"])
async def test_unbound_media_is_turned_away(chat: Dialogue, fake: FakeBotApi, kind: str) -> None:
    since = fake.mark()
    if kind == "photo":
        replies = await chat.send_photo(STRANGER, caption="看看这个")
    elif kind == "sticker":
        replies = await chat.send_sticker(STRANGER)
    else:
        replies = await chat.send_location(STRANGER, 36.06, 103.83)
    assert replies.texts == [texts.UNBOUND]
    assert len(fake.replies_since(since)) == 1


async def test_unbound_button_press_gets_an_alert_only(chat: Dialogue, fake: FakeBotApi) -> None:
    since = fake.mark()
    replies = await chat.press(STRANGER, "qa:fb:1:u")
    assert [(r.method, r.text) for r in replies] == [("answerCallbackQuery", texts.UNBOUND[:190])]
    assert fake.bot_calls("answerCallbackQuery")[-1].params.get("show_alert") is True
    assert len(fake.replies_since(since)) == 1


async def test_unbound_unknown_command_is_turned_away(chat: Dialogue) -> None:
    assert (await chat.send(STRANGER, "/propose")).texts == [texts.UNBOUND]


# ---- /help and staff-only commands --------------------------------------------------------------

ran: list[int] = []


@require_staff
async def _stats_probe(update: Update, context: BotContext, member: Member) -> None:
    """A tiny staff-only command for the permission test."""
    ran.append(member.id)
    if update.effective_message is not None:
        await update.effective_message.reply_text("STATS-OK")


STAFF_PROBE = Feature(
    name="staff-probe",
    register=lambda app: app.add_handler(CommandHandler("stats", _stats_probe)),
    commands=(CommandInfo("stats", staff=True),),
)


@pytest.fixture
async def staff_chat(app_factory, fake: FakeBotApi, people: list[Member]) -> Dialogue:
    ran.clear()
    app: BotApplication = await app_factory(with_features(STAFF_PROBE))
    return Dialogue(fake, app)


async def test_help_differs_for_member_and_staff(staff_chat: Dialogue) -> None:
    member_help = (await staff_chat.send(MEMBER, "/help")).text
    staff_help = (await staff_chat.send(STAFF, "/help")).text
    assert member_help.startswith(texts.HELP_MEMBER_HEAD) and "/help" in member_help
    assert texts.HELP_STAFF_HEAD not in member_help and "/stats" not in member_help
    assert texts.HELP_STAFF_HEAD in staff_help and "/stats 统计" in staff_help
    assert (await staff_chat.send(STRANGER, "/help")).texts == [texts.HELP_UNBOUND]


async def test_staff_command_refused_to_members(staff_chat: Dialogue) -> None:
    assert (await staff_chat.send(MEMBER, "/stats")).texts == [texts.STAFF_ONLY]
    assert (await staff_chat.send(STRANGER, "/stats")).texts == [texts.UNBOUND]
    assert ran == []
    assert (await staff_chat.send(STAFF, "/stats")).texts == ["STATS-OK"]
    assert len(ran) == 1
