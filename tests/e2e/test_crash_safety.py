"""Crash safety of the real entry point (issue #7, point 3): ``python -m bot run`` killed with SIGKILL.

The bot long-polls the HTTP fake Bot API. The fake freezes it at a chosen point (a Bot API call is
performed, its answer held) and, to model the request that would confirm the update still being in
flight, keeps the update unconfirmed, so Telegram redelivers it to the restarted bot. Then:

* a check-in confirmed *after* the commit is not recorded again (the processed-update ledger);
* a check-in confirmed *before* the commit is recorded once when the update comes back;
* a micro-proposal submitted before the kill exists once, with one tracking number and one of each
  notification (member, staff chat, back-office webhook event);
* a broadcast sent by the running bot reaches everybody once, except the rows in flight at the kill
  (counted ``uncertain``, at most ``BROADCAST_CONCURRENCY``);
* a question waiting on a slow model (an OpenAI-compatible fake) holds no transaction and blocks no
  other member; killed during the wait, it is answered once when it comes back (issue #12).

SQLite (the data dir the subprocess opens) and PostgreSQL (``DATABASE_URL`` passed to the subprocess).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from handlers import texts
from store.models import (
    CreditEntry,
    ProcessedUpdate,
    Proposal,
    ProposalEvent,
    ProposalWebhookEvent,
    QuestionLog,
    StudyCheckin,
)
from tests.fakes.botapi import FakeBotApi
from tests.fakes.faults import CrashPointBotApi, FaultyBotApi
from tests.fakes.process import E2E_TOKEN, BotProcess, cli_env, free_port, run_cli
from tests.support import e2e_db

pytestmark = pytest.mark.real

MEMBER = 1001
STAFF_CHAT = -1_009_999_000_777
STARTUP = 60.0  # imports and migrations on a cold, busy machine
REPLY = 20.0
_pg_names = itertools.count()


@dataclass
class Target:
    """Where the subprocess keeps its data: the data dir's SQLite file, or a PostgreSQL database."""

    data_dir: Path
    database_url: str | None  # None: SQLite in the data dir

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'cppcc.sqlite3'}"

    def env(self, fake: FakeBotApi, **extra: str) -> dict[str, str]:
        assert fake.base_url is not None
        if self.database_url:
            extra["DATABASE_URL"] = self.database_url
        return cli_env(TELEGRAM_BOT_TOKEN=E2E_TOKEN, TELEGRAM_API_BASE_URL=fake.base_url,
                       STAFF_CHAT_ID=str(STAFF_CHAT), **extra)

    async def add_members(self, telegram_ids: list[int]) -> None:
        """Migrate the database and add bound members straight into it (no CLI start needed)."""
        await e2e_db.add_members(self.url, telegram_ids)

    async def count(self, *queries: Any) -> list[int]:
        return await e2e_db.count(self.url, *queries)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        return Target(data_dir, None)
    server = request.getfixturevalue("pg_server")
    return Target(data_dir, server.create_database(f"crash{os.getpid()}_{next(_pg_names)}"))


@pytest.fixture
async def crash_fake(http_fake: FakeBotApi) -> AsyncIterator[tuple[FakeBotApi, CrashPointBotApi]]:
    api = CrashPointBotApi()
    http_fake.api = api
    yield http_fake, api
    api.release()


_started: list[BotProcess] = []


@pytest.fixture(autouse=True)
async def no_leftover_bots() -> AsyncIterator[None]:
    """A test that fails half-way must not leave a bot running: kill what is still alive."""
    yield
    while _started:
        bot = _started.pop()
        if bot.proc.returncode is None:
            await kill(bot)


async def start_bot(target: Target, fake: FakeBotApi, env: dict[str, str]) -> BotProcess:
    """``python -m bot run``, returned once it polls for updates."""
    since = fake.mark()
    bot = await BotProcess.start(target.data_dir, "run", env=env)
    _started.append(bot)
    try:
        await fake.wait_for_call("getUpdates", timeout=STARTUP, since=since)
    except TimeoutError:
        await kill(bot)
        raise AssertionError(f"the bot did not start polling:\n{bot.output()}") from None
    return bot


async def kill(bot: BotProcess) -> str:
    """SIGKILL (no cleanup at all); returns what the process logged."""
    bot.proc.kill()
    status = await bot.stop()
    assert status == -9
    return bot.output()


async def freeze(api: CrashPointBotApi, bot: BotProcess) -> None:
    """Wait until the bot is stuck on the held call and its confirming getUpdates is in flight."""
    if not await api.wait_until(lambda: api.held and api.parked, timeout=REPLY):
        output = await kill(bot)
        raise AssertionError(f"never reached the crash point (held={api.held}, parked={api.parked}):\n{output}")


def tap_and_freeze_at(fake: FakeBotApi, api: CrashPointBotApi, label: str, method: str,
                      chat_id: int | None = None, text_contains: str = "") -> int:
    """Tap ``label``; hold the answer of the bot's next ``method`` call and keep the tap unconfirmed.

    Arming happens before the event loop can hand the update to the bot's pending long poll.
    """
    update_id = int(fake.user_taps(MEMBER, label)["update_id"])
    api.keep_unconfirmed(update_id)

    def matches(called: str, params: Mapping[str, Any]) -> bool:
        return called == method and (chat_id is None or params.get("chat_id") == chat_id) and (
            text_contains in str(params.get("text", "")))

    api.hold_next(matches)
    return update_id


def recorded(fake: FakeBotApi) -> list[str]:
    return [t for t in fake.transcript(MEMBER) if t.startswith("已记录打卡")]


async def test_checkin_confirm_killed_after_and_before_the_commit(
    target: Target, crash_fake: tuple[FakeBotApi, CrashPointBotApi],
) -> None:
    fake, api = crash_fake
    await target.add_members([MEMBER])
    env = target.env(fake)
    checkins = select(func.count()).select_from(StudyCheckin)
    entries = select(func.count()).select_from(CreditEntry).where(CreditEntry.source_type == "checkin")

    # (i) Killed after the commit: the card's edit to "已记录打卡" is the call after context.commit().
    bot = await start_bot(target, fake, env)
    fake.user_sends(MEMBER, "今天学习了《政协章程》45分钟")
    card = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == MEMBER, timeout=REPLY)
    assert [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL] in card.buttons
    first = tap_and_freeze_at(fake, api, texts.BTN_CONFIRM, "editMessageText", MEMBER)
    await freeze(api, bot)
    await kill(bot)
    api.release()
    assert await target.count(checkins, entries) == [1, 1]
    assert len(recorded(fake)) == 1  # the member saw the confirmation before the crash

    # The restarted bot gets the tap again and skips it (its effects and its update id committed
    # together). Updates are handled in order, so the next card proves the redelivery was handled.
    since = fake.mark()
    bot = await start_bot(target, fake, env)
    assert any(u["update_id"] == first for u in api.updates), "the tap was not redelivered"
    fake.user_sends(MEMBER, "今天学习了《中国人民政治协商会议章程》30分钟")
    card = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == MEMBER, timeout=REPLY)
    assert [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL] in card.buttons
    assert fake.replies_since(since, MEMBER) == [card]  # skipped: not even a "stale button" alert
    assert await target.count(checkins, entries) == [1, 1]

    # (ii) Killed before the commit: the button press is answered (spinner stops) before the work.
    second = tap_and_freeze_at(fake, api, texts.BTN_CONFIRM, "answerCallbackQuery")
    await freeze(api, bot)
    await kill(bot)
    api.release()
    assert await target.count(checkins, entries) == [1, 1]  # rolled back with the process

    # Redelivered: recorded now, although Telegram refuses a second answer to the same button press.
    since = fake.mark()
    bot = await start_bot(target, fake, env)
    try:
        done = await fake.wait_for_call("editMessageText", lambda c: c.chat_id == MEMBER, timeout=REPLY,
                                        since=since)
    finally:
        status = await bot.stop()
    assert status == 0, bot.output()
    assert done.text is not None and done.text.startswith("已记录打卡：《中国人民政治协商会议章程》"), done.text
    assert await target.count(checkins, entries) == [2, 2]
    assert len(recorded(fake)) == 2
    processed = select(func.count()).select_from(ProcessedUpdate).where(
        ProcessedUpdate.update_id.in_([first, second]), ProcessedUpdate.failed.is_(False))
    assert await target.count(processed) == [2]


async def test_proposal_confirm_killed_after_the_commit(
    target: Target, crash_fake: tuple[FakeBotApi, CrashPointBotApi],
) -> None:
    fake, api = crash_fake
    await target.add_members([MEMBER])
    # A back-office webhook nobody answers: its outbox row must exist once, whatever its delivery does.
    env = target.env(fake, PROPOSALS_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/hook",
                     PROPOSALS_WEBHOOK_SECRET="e2e-secret")

    bot = await start_bot(target, fake, env)
    fake.user_sends(MEMBER, "建议在老城区增设夜间公交线路，很多夜班工人回家不方便")
    await fake.wait_for_call("sendMessage", lambda c: [texts.BTN_PROPOSAL_RECORD, texts.BTN_PROPOSAL_NOT_NOW]
                             in c.buttons, timeout=REPLY)
    fake.user_taps(MEMBER, texts.BTN_PROPOSAL_RECORD)
    await fake.wait_for_call("sendMessage", lambda c: c.text == texts.PROPOSAL_ASK_CATEGORY, timeout=REPLY)
    fake.user_taps(MEMBER, "城乡建设")
    await fake.wait_for_call("sendMessage", lambda c: [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL]
                             in c.buttons, timeout=REPLY)
    # After the commit the bot answers the press, sends the number, then alerts the staff chat: hold that.
    tap = tap_and_freeze_at(fake, api, texts.BTN_CONFIRM, "sendMessage", STAFF_CHAT, text_contains="WJY-")
    await freeze(api, bot)
    await kill(bot)
    api.release()
    proposals = select(func.count()).select_from(Proposal)
    events = select(func.count()).select_from(ProposalEvent)
    hooks = select(func.count()).select_from(ProposalWebhookEvent)
    assert await target.count(proposals, events, hooks) == [1, 1, 1]

    since = fake.mark()
    bot = await start_bot(target, fake, env)
    try:
        assert any(u["update_id"] == tap for u in api.updates), "the tap was not redelivered"
        fake.user_sends(MEMBER, "/my")  # handled after the redelivered tap
        mine = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == MEMBER, timeout=REPLY)
    finally:
        status = await bot.stop()
    assert status == 0, bot.output()
    assert fake.replies_since(since, MEMBER) == [mine]  # the redelivered tap was skipped silently
    assert mine.text is not None and mine.text.startswith(texts.PROPOSAL_MY_HEAD.format(count=1)), mine.text

    code, out, err = await run_cli(target.data_dir, "proposals", "export", "--json", env=env)
    assert code == 0, err
    [exported] = json.loads(out)
    number = exported["number"]
    assert number.startswith("WJY-") and number in mine.text
    assert exported["content"] == "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"
    assert await target.count(proposals, events, hooks) == [1, 1, 1]
    submitted = texts.PROPOSAL_SUBMITTED.format(number=number)
    assert fake.transcript(MEMBER).count(submitted) == 1
    alerts = [t for t in fake.transcript(STAFF_CHAT) if number in t]
    assert len(alerts) == 1, alerts


BROADCAST_MEMBERS = 30
CONCURRENCY = 4
ANSWERED = 10
FIRST_ID = 820_000


async def test_broadcast_by_the_running_bot_killed_mid_way(target: Target, http_fake: FakeBotApi) -> None:
    ids = [FIRST_ID + i for i in range(BROADCAST_MEMBERS)]
    await target.add_members(ids)
    api = FaultyBotApi(hold_after=ANSWERED)  # from the 11th send on, messages arrive but answers are held
    http_fake.api = api
    env = target.env(http_fake, BROADCAST_CONCURRENCY=str(CONCURRENCY), BROADCAST_TICK_SECONDS="0.5")
    # Queued only (no --wait): the running bot's JobQueue sender sends it. Both start at once.
    queued, bot = await asyncio.gather(
        run_cli(target.data_dir, "broadcast", "send", "--to", "all", "--text", "委员您好：明天上午九点召开常委会。",
                "--urgent", env=env),
        start_bot(target, http_fake, env),
    )
    try:
        assert queued[0] == 0, queued[2]
        in_flight = await api.wait_until(lambda: api.held == CONCURRENCY, timeout=REPLY)
    finally:
        await kill(bot)
    assert in_flight, f"the sender never had {CONCURRENCY} sends in flight (held={api.held})"
    assert sum(api.delivered.values()) == ANSWERED + CONCURRENCY
    api.hold_after = None
    api.release()

    bot = await start_bot(target, http_fake, env)
    try:
        everyone = await api.wait_until(lambda: all(api.delivered[i] >= 1 for i in ids), timeout=REPLY)
    finally:
        status = await bot.stop()  # a clean stop lets the sender record its last results
    assert status == 0, bot.output()
    assert everyone, f"not delivered to {[i for i in ids if not api.delivered[i]]}"

    code, out, err = await run_cli(target.data_dir, "broadcast", "status", "--json", env=env)
    assert code == 0, err
    report = json.loads(out)
    assert report["pending"] == 0 and report["sent"] == BROADCAST_MEMBERS, report
    # The rows in flight at the kill were claimed (committed) but not recorded: sent again, counted.
    assert report["uncertain"] == CONCURRENCY, report
    twice = [i for i in ids if api.delivered[i] == 2]
    assert len(twice) == report["uncertain"], twice
    assert all(api.delivered[i] in (1, 2) for i in ids)


# ---- a question answered by a slow model ------------------------------------------------------------

RULES = """标题：委员履职管理办法（试行） | 发布机关：本委员会办公室 | 版本：2026年

# 委员履职管理办法（试行）

第一条 为规范委员履职，制定本办法。

第二条 委员每年参加集中学习不少于四次，并按时完成学习打卡。
"""
MODEL_REPLY = "委员每年参加集中学习不少于四次（《委员履职管理办法（试行）》第二条）。"
OTHER = 1002


class SlowModel:
    """An OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1 that answers only once released."""

    def __init__(self) -> None:
        self.requests = 0
        self.released = asyncio.Event()
        self.asked = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests += 1
        self.asked.set()
        await self.released.wait()
        return web.json_response({
            "id": "chatcmpl-slow", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": MODEL_REPLY}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        })

    async def stop(self) -> None:
        self.released.set()
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def slow_model() -> AsyncIterator[SlowModel]:
    model = SlowModel()
    await model.start()
    yield model
    await model.stop()


async def test_question_waiting_on_a_slow_model_blocks_nobody_and_is_answered_once_after_a_kill(
    target: Target, crash_fake: tuple[FakeBotApi, CrashPointBotApi], slow_model: SlowModel, tmp_path: Path,
) -> None:
    fake, api = crash_fake
    await target.add_members([MEMBER, OTHER])
    env = target.env(fake, LLM_BASE_URL=slow_model.base_url, LLM_API_KEY="llm-key", LLM_MODEL="qwen-test")
    doc = tmp_path / "委员履职管理办法.md"
    doc.write_text(RULES, encoding="utf-8")
    code, _, err = await run_cli(target.data_dir, "kb", "ingest", str(doc), env=env, time_limit=STARTUP)
    assert code == 0, err
    questions = select(func.count()).select_from(QuestionLog)

    bot = await start_bot(target, fake, env)
    since = fake.mark()
    question = int(fake.user_sends(MEMBER, "委员每年参加几次集中学习")["update_id"])
    helped_id = int(fake.user_sends(OTHER, "/help")["update_id"])  # in the same batch: both are fetched together
    api.keep_unconfirmed(question)  # the kill comes with the confirming getUpdates in flight
    await asyncio.wait_for(slow_model.asked.wait(), timeout=REPLY)
    # While the model thinks, the other member is answered and nothing holds the database.
    helped = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == OTHER, timeout=REPLY, since=since)
    assert texts.HELP_MEMBER_HEAD in (helped.text or "")
    assert await api.wait_until(lambda: api.parked, timeout=REPLY)
    # The /help update is marked done just after its reply: wait for that commit before the kill.
    help_done = select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.update_id == helped_id)
    deadline = asyncio.get_running_loop().time() + REPLY
    while await target.count(help_done) != [1]:
        assert asyncio.get_running_loop().time() < deadline, "the /help update was never marked done"
        await asyncio.sleep(0.05)
    assert await target.count(questions) == [0]
    await kill(bot)
    api.release()
    assert fake.replies_since(since, MEMBER) == []

    # Redelivered to the restarted bot (the model now answers at once): answered and logged once;
    # the other member's /help, committed after its reply, is skipped.
    slow_model.released.set()
    bot = await start_bot(target, fake, env)
    assert any(u["update_id"] == question for u in api.updates), "the question was not redelivered"
    try:
        answer = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == MEMBER, timeout=REPLY, since=since)
        fake.user_sends(OTHER, "/help")
        await fake.wait_for_call("sendMessage", lambda c: c.chat_id == OTHER, timeout=REPLY, since=fake.mark())
    finally:
        status = await bot.stop()
    assert status == 0, bot.output()
    assert "不少于四次" in (answer.text or ""), answer.text
    assert [c.text for c in fake.replies_since(since, MEMBER)] == [answer.text]
    assert len(fake.replies_since(since, OTHER)) == 2  # the first /help once, then the new one
    assert slow_model.requests == 2
    assert await target.count(questions) == [1]
