"""More than one process (issue #12, item 4): two ``webhook`` workers on one PostgreSQL database.

Both run the real entry point (``python -m bot webhook``) with the same token and secret, behind a
round-robin forwarder on 127.0.0.1 (``tests/fakes/forwarder.py``, nginx's ``upstream`` in the README).
Updates are posted to the forwarder as Telegram posts them to a webhook, so one member's updates
alternate between the workers. The fake Bot API tells the workers' calls apart (``base_url_for``).

* a proposal draft started on one worker is continued and submitted on the other;
* a study check-in card shown by one worker is confirmed (and edited) on the other;
* a broadcast is sent by one worker only while both run; killed with SIGKILL mid-send, the other takes
  over and every member gets the notice exactly once;
* the same update posted to both workers at once (Telegram redelivering while the first delivery is
  still handled) is handled once: one reply, one effect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.localapi import Call, JSONDict, LocalBotApi, Upload
from handlers import texts
from store.models import (
    CheckinDraft,
    CreditEntry,
    ProcessedUpdate,
    Proposal,
    ProposalDraft,
    StudyCheckin,
)
from tests.fakes.botapi import FakeBotApi, current_origin
from tests.fakes.forwarder import RoundRobinForwarder
from tests.fakes.process import E2E_TOKEN, BotProcess, cli_env, free_port, run_cli
from tests.support import e2e_db
from tests.support.pgserver import PgServer

pytestmark = [pytest.mark.real, pytest.mark.pg]

MEMBER = 1001
STAFF_CHAT = -1_009_999_000_555
SECRET = "e2e-multiproc-secret_123"
WEBHOOK_PATH = "telegram"
STARTUP = 90.0  # two workers importing and starting at once on a busy machine
REPLY = 20.0
WORKERS = ("A", "B")
REPLY_METHODS = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery", "sendPhoto"})
_names = itertools.count()


# ---- the cluster: PostgreSQL, two webhook workers, the forwarder --------------------------------------


@dataclass
class Cluster:
    fake: FakeBotApi
    database_url: str
    root: Path
    proxy: RoundRobinForwarder | None = None
    ports: dict[str, int] = field(default_factory=dict)
    workers: dict[str, BotProcess] = field(default_factory=dict)

    def env(self, worker: str | None, **extra: str) -> dict[str, str]:
        """A worker's environment (``worker=None``: a CLI command on the same database)."""
        assert self.fake.base_url is not None
        base = self.fake.base_url if worker is None else self.fake.base_url_for(worker)
        env = dict(TELEGRAM_BOT_TOKEN=E2E_TOKEN, TELEGRAM_API_BASE_URL=base, DATABASE_URL=self.database_url,
                   STAFF_CHAT_ID=str(STAFF_CHAT), LOG_LEVEL="DEBUG", WEBHOOK_URL="https://bot.example.org/",
                   WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PATH=WEBHOOK_PATH,
                   BROADCAST_TICK_SECONDS="0.5")
        if worker is not None:
            env["WEBHOOK_PORT"] = str(self.ports[worker])
        env.update(extra)
        return cli_env(**env)

    def data_dir(self, worker: str) -> Path:
        """Each process its own folder (Chroma, logs); the data they share is in PostgreSQL."""
        path = self.root / worker / "data"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def start(self, **extra: str) -> None:
        """Start both workers; return once both registered the webhook and listen."""
        self.ports = {name: free_port() for name in WORKERS}
        since = self.fake.mark()
        for name in WORKERS:
            bot = await BotProcess.start(self.data_dir(name), "webhook", env=self.env(name, **extra))
            self.workers[name] = bot
            _started.append(bot)
        try:
            await self.fake.api.wait_until(
                lambda: {self.fake.origin(c) for c in self.fake.api.calls[since:] if c.method == "setWebhook"}
                >= set(WORKERS), timeout=STARTUP)
            registered = [c for c in self.fake.api.calls[since:] if c.method == "setWebhook"]
            assert {self.fake.origin(c) for c in registered} == set(WORKERS), "a worker did not set the webhook"
            assert all(c.params["url"] == f"https://bot.example.org/{WEBHOOK_PATH}" for c in registered)
            assert all(c.params["secret_token"] == SECRET for c in registered)
            self.proxy = RoundRobinForwarder({n: f"http://127.0.0.1:{self.ports[n]}" for n in WORKERS})
            await self.proxy.start()
            await self.proxy.wait_ready(WEBHOOK_PATH, timeout=STARTUP)
        except (AssertionError, TimeoutError) as exc:
            raise AssertionError(f"the workers did not start ({exc}):\n{self.output()}") from None

    @property
    def forwarder(self) -> RoundRobinForwarder:
        assert self.proxy is not None, "start() first"
        return self.proxy

    def output(self) -> str:
        return "\n".join(f"---- worker {n} ----\n{b.output()}" for n, b in self.workers.items())

    @property
    def url(self) -> str:
        return f"{self.forwarder.base_url}/{WEBHOOK_PATH}"

    def worker_url(self, worker: str) -> str:
        return f"http://127.0.0.1:{self.ports[worker]}/{WEBHOOK_PATH}"

    async def post(self, update: JSONDict, url: str | None = None) -> None:
        """POST the update as Telegram does (to the forwarder unless ``url``); the webhook answers 200."""
        status = await self.fake.push_update(url or self.url, update, secret_token=SECRET)
        assert status == 200, f"webhook answered {status} to update {update['update_id']}"

    async def step(self, update: JSONDict, expect: Callable[[Call], bool]) -> tuple[str, Call]:
        """Post one update through the forwarder and wait for the reply ``expect`` picks.

        Returns the worker that got the update; the reply must come from that worker.
        """
        since = self.fake.mark()
        await self.post(update)
        worker = self.forwarder.worker_of(int(update["update_id"]))
        try:
            reply = await self.fake.wait_for_call(predicate=lambda c: c.method in REPLY_METHODS and expect(c),
                                                  since=since, timeout=REPLY)
        except TimeoutError as exc:
            raise AssertionError(f"no expected reply to update {update['update_id']} (worker {worker}): {exc}\n"
                                 + self.output()) from None
        assert self.fake.origin(reply) == worker, f"update went to {worker}, reply came from {self.fake.origin(reply)}"
        return worker, reply

    async def add_members(self, telegram_ids: list[int]) -> None:
        await e2e_db.add_members(self.database_url, telegram_ids)

    async def count(self, *queries: Any) -> list[int]:
        return await e2e_db.count(self.database_url, *queries)

    async def stop(self) -> None:
        statuses = {}
        for name, bot in self.workers.items():
            if bot.proc.returncode is None:
                statuses[name] = await bot.stop()
        assert all(s == 0 for s in statuses.values()), f"{statuses}\n{self.output()}"


_started: list[BotProcess] = []


@pytest.fixture(autouse=True)
async def no_leftover_workers() -> AsyncIterator[None]:
    """A test that fails half-way must not leave a worker running."""
    yield
    while _started:
        bot = _started.pop()
        if bot.proc.returncode is None:
            bot.proc.kill()
            await bot.stop()


@pytest.fixture
async def cluster(http_fake: FakeBotApi, pg_server: PgServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    url = pg_server.create_database(f"multi{os.getpid()}_{next(_names)}")
    made = Cluster(http_fake, url, tmp_path)
    try:
        yield made
    finally:
        if made.proxy is not None:
            await made.proxy.stop()


def from_member(call: Call) -> bool:
    return call.chat_id == MEMBER


def with_text(text: str) -> Callable[[Call], bool]:
    return lambda c: c.chat_id == MEMBER and c.method != "answerCallbackQuery" and c.text == text


def starting(prefix: str) -> Callable[[Call], bool]:
    return lambda c: c.chat_id == MEMBER and c.method != "answerCallbackQuery" and (c.text or "").startswith(prefix)


def with_buttons(*row: str) -> Callable[[Call], bool]:
    return lambda c: c.chat_id == MEMBER and list(row) in c.buttons


def minutes(n: int) -> str:
    return texts.CHECKIN_MINUTES.format(minutes=n)


def no_reply_twice(fake: FakeBotApi, since: int) -> None:
    """Every message the member got (sent or edited) is different: none was sent by both workers."""
    shown = [c.text for c in fake.replies_since(since, MEMBER) if c.method != "answerCallbackQuery"]
    twice = [t for t, n in Counter(shown).items() if n > 1]
    assert not twice, f"sent more than once: {twice}"
    assert texts.ERROR not in shown


async def all_processed(cluster: Cluster, update_ids: list[int]) -> None:
    """Every update is marked processed, and none as failed."""
    ok = select(func.count()).select_from(ProcessedUpdate).where(
        ProcessedUpdate.update_id.in_(update_ids), ProcessedUpdate.failed.is_(False))
    assert await cluster.count(ok) == [len(update_ids)]


# ---- (a) a proposal draft continued on the other worker -----------------------------------------------


async def test_proposal_draft_started_on_one_worker_is_submitted_on_the_other(cluster: Cluster) -> None:
    fake = cluster.fake
    await cluster.add_members([MEMBER])
    await cluster.start()
    since = fake.mark()
    content = "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"
    try:
        started = fake.user_sends(MEMBER, "/propose")
        first, _ = await cluster.step(started, with_text(texts.PROPOSAL_ASK_CONTENT))
        typed = fake.user_sends(MEMBER, content)
        second, _ = await cluster.step(typed, with_text(texts.PROPOSAL_ASK_CATEGORY))
        drafts = select(func.count()).select_from(ProposalDraft)
        assert await cluster.count(drafts) == [1]
        chosen = fake.user_taps(MEMBER, "城乡建设")
        third, _ = await cluster.step(chosen, with_buttons(texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL))
        confirmed = fake.user_taps(MEMBER, texts.BTN_CONFIRM)
        fourth, done = await cluster.step(confirmed, starting("已提交，编号 WJY-"))
        alert = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == STAFF_CHAT, since=since,
                                         timeout=REPLY)
    finally:
        await cluster.stop()
    assert [first, second, third, fourth] == ["A", "B", "A", "B"]  # the member's updates alternated
    assert fake.origin(alert) == fourth

    match = re.search(r"WJY-\d{4}-\d{4}", done.text or "")
    assert match, done.text
    number = match.group(0)
    rows = await cluster.count(
        select(func.count()).select_from(Proposal),
        select(func.count()).select_from(Proposal).where(Proposal.number == number, Proposal.content == content,
                                                         Proposal.category == "城乡建设"),
        select(func.count()).select_from(ProposalDraft),
    )
    assert rows == [1, 1, 0]  # submitted once, from the draft both workers kept in the database
    await all_processed(cluster, [int(u["update_id"]) for u in (started, typed, chosen, confirmed)])
    no_reply_twice(fake, since)
    assert [t for t in fake.transcript(STAFF_CHAT) if number in t] == [alert.text]


# ---- (b) a check-in card confirmed on the other worker ------------------------------------------------


async def test_checkin_card_shown_by_one_worker_is_edited_and_confirmed_on_the_other(cluster: Cluster) -> None:
    """The typed answer (“30分钟”) reaches a worker that never asked for it: it must learn from the
    database, not from its own memory, that the member owes the check-in an answer (issue #12)."""
    fake = cluster.fake
    await cluster.add_members([MEMBER])
    await cluster.start()
    since = fake.mark()
    card_buttons = with_buttons(texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL)
    updates: list[JSONDict] = []
    try:
        # The card from A, confirmed on B.
        updates.append(fake.user_sends(MEMBER, "今天学习了《政协章程》45分钟"))
        shown_by, _ = await cluster.step(updates[-1], card_buttons)
        updates.append(fake.user_taps(MEMBER, texts.BTN_CONFIRM))
        confirmed_by, _ = await cluster.step(updates[-1], starting(f"已记录打卡：《政协章程》，{minutes(45)}"))

        # A second card from A; 修改 on B, 时长 on A, the typed answer on B (which never asked), 确认 on A.
        updates.append(fake.user_sends(MEMBER, "今天学习了《中国人民政治协商会议章程》50分钟"))
        await cluster.step(updates[-1], card_buttons)
        updates.append(fake.user_taps(MEMBER, texts.BTN_EDIT))
        await cluster.step(updates[-1], with_text(texts.CHECKIN_EDIT_WHICH))
        updates.append(fake.user_taps(MEMBER, texts.BTN_EDIT_MINUTES))
        await cluster.step(updates[-1], with_text(texts.CHECKIN_ASK_FIELD["minutes"]))
        updates.append(fake.user_sends(MEMBER, "30分钟"))
        await cluster.step(updates[-1], card_buttons)
        updates.append(fake.user_taps(MEMBER, texts.BTN_CONFIRM))
        await cluster.step(updates[-1], starting(f"已记录打卡：《中国人民政治协商会议章程》，{minutes(30)}"))
    finally:
        await cluster.stop()
    assert (shown_by, confirmed_by) == ("A", "B")
    assert [cluster.forwarder.worker_of(int(u["update_id"])) for u in updates] == ["A", "B", "A", "B", "A", "B", "A"]

    checkins = select(func.count()).select_from(StudyCheckin)
    entries = select(func.count()).select_from(CreditEntry).where(CreditEntry.source_type == "checkin")
    thirty = select(func.count()).select_from(StudyCheckin).where(StudyCheckin.minutes == 30)
    drafts = select(func.count()).select_from(CheckinDraft)
    assert await cluster.count(checkins, entries, thirty, drafts) == [2, 2, 1, 0]
    await all_processed(cluster, [int(u["update_id"]) for u in updates])
    no_reply_twice(fake, since)


# ---- (c) a broadcast: one sender at a time, taken over after a kill -------------------------------------


class FreezingBotApi(LocalBotApi):
    """After ``freeze_after`` delivered sends, the worker that sends next is frozen mid-send.

    Its further sends are held *before* they are performed (the member does not get them) until
    ``release()``, which answers them with an error without performing them: the process that asked is
    gone. Sends of every other worker go through. ``delivered`` counts what each chat received.
    """

    SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})

    def __init__(self, *, freeze_after: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.freeze_after = freeze_after
        self.frozen: str | None = None  # the worker being frozen
        self.held = 0
        self.delivered: Counter[int] = Counter()
        self.senders: Counter[str | None] = Counter()  # worker -> sends performed
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Mapping[str, Upload] | None = None) -> tuple[int, JSONDict]:
        origin = current_origin()
        if method in self.SENDS:
            if self.frozen is None and sum(self.delivered.values()) >= self.freeze_after:
                self.frozen = origin
            if origin is not None and origin == self.frozen and not self._released.is_set():
                self.held += 1
                self._notify()
                await self._released.wait()
                return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        status, body = await super().call(method, params, files)
        if method in self.SENDS and status == 200:
            self.delivered[int(str((params or {}).get("chat_id")))] += 1
            self.senders[origin] += 1
            self._notify()
        return status, body


BROADCAST_MEMBERS = 30
CONCURRENCY = 4
ANSWERED = 10
FIRST_ID = 830_000
SKIPPED = "broadcast sender lock held by another process"


async def wait_for_log(bot: BotProcess, needle: str, count: int, timeout: float) -> bool:  # noqa: ASYNC109
    """Poll the worker's log until ``needle`` appears ``count`` times (a deadline, not a sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while bot.output().count(needle) < count:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_broadcast_is_sent_by_one_worker_and_taken_over_after_a_kill(cluster: Cluster) -> None:
    fake = cluster.fake
    api = FreezingBotApi(freeze_after=ANSWERED)
    fake.api = api
    ids = [FIRST_ID + i for i in range(BROADCAST_MEMBERS)]
    await cluster.add_members(ids)
    await cluster.start(BROADCAST_CONCURRENCY=str(CONCURRENCY))
    try:
        code, _, err = await run_cli(cluster.data_dir("cli"), "broadcast", "send", "--to", "all", "--text",
                                     "委员您好：明天上午九点召开常委会。", "--urgent", env=cluster.env(None))
        assert code == 0, err
        frozen = await api.wait_until(lambda: api.held == CONCURRENCY, timeout=REPLY)
        assert frozen, f"the sender never had {CONCURRENCY} sends in flight (held={api.held})\n{cluster.output()}"
        sender = api.frozen
        assert sender in WORKERS
        other = next(w for w in WORKERS if w != sender)
        # While the sender holds its rows, the other worker's ticks find the lock taken and send nothing.
        skipped = cluster.workers[other].output().count(SKIPPED)
        assert await wait_for_log(cluster.workers[other], SKIPPED, skipped + 2, timeout=REPLY), cluster.output()
        assert api.held == CONCURRENCY
        assert dict(api.senders) == {sender: ANSWERED}, api.senders

        cluster.workers[sender].proc.kill()  # SIGKILL mid-send: no clean-up, its claims stay in the database
        assert await cluster.workers[sender].stop() == -9
        api.release()  # its held sends never reached anybody
        everyone = await api.wait_until(lambda: all(api.delivered[i] >= 1 for i in ids), timeout=REPLY)
        assert everyone, f"not delivered to {[i for i in ids if not api.delivered[i]]}\n{cluster.output()}"
        status, out, err = await run_cli(cluster.data_dir("cli"), "broadcast", "status", "--json",
                                         env=cluster.env(None))
        assert status == 0, err
        report = json.loads(out)
    finally:
        await cluster.stop()
    assert {i: api.delivered[i] for i in ids} == dict.fromkeys(ids, 1)  # exactly once each
    assert dict(api.senders) == {sender: ANSWERED, other: BROADCAST_MEMBERS - ANSWERED}, api.senders
    assert report["pending"] == 0 and report["sent"] == BROADCAST_MEMBERS, report
    # The rows the killed worker held were claimed but never recorded: taken back, counted uncertain.
    assert report["uncertain"] == CONCURRENCY, report


# ---- (d) the same update delivered to both workers at once -------------------------------------------


async def test_an_update_delivered_to_both_workers_at_once_is_handled_once(cluster: Cluster) -> None:
    fake = cluster.fake
    await cluster.add_members([MEMBER])
    await cluster.start()
    since = fake.mark()
    both = [cluster.worker_url(w) for w in WORKERS]

    async def twice(update: JSONDict) -> int:
        await asyncio.gather(*(cluster.post(update, url) for url in both))
        return int(update["update_id"])

    card_buttons = with_buttons(texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL)
    try:
        helped = await twice(fake.user_sends(MEMBER, "/help"))
        await fake.wait_for_call("sendMessage", lambda c: from_member(c) and texts.HELP_MEMBER_HEAD in (c.text or ""),
                                 since=since, timeout=REPLY)
        offered = await twice(fake.user_sends(MEMBER, "今天学习了《政协章程》45分钟"))
        await fake.wait_for_call("sendMessage", card_buttons, since=since, timeout=REPLY)
        pressed = await twice(fake.user_taps(MEMBER, texts.BTN_CONFIRM))
        await fake.wait_for_call("editMessageText", starting("已记录打卡"), since=since, timeout=REPLY)
        # Each worker handles one chat's updates in order: once it answered this, it is done with the rest.
        unknown = texts.UNKNOWN_COMMAND.format(command="/nosuchcommand")
        for url in both:
            await cluster.post(fake.user_sends(MEMBER, "/nosuchcommand"), url)
        ok = await fake.api.wait_until(lambda: [c.text for c in fake.replies_since(since, MEMBER)].count(unknown) == 2,
                                       timeout=REPLY)
        assert ok, cluster.output()
    finally:
        await cluster.stop()
    replies = fake.replies_since(since, MEMBER)
    shown = [c.text or "" for c in replies]
    assert sum(texts.HELP_MEMBER_HEAD in t for t in shown) == 1, shown
    assert len([c for c in replies if c.method == "sendMessage" and card_buttons(c)]) == 1, shown
    assert sum(t.startswith("已记录打卡") for t in shown) == 1, shown
    assert len([c for c in replies if c.method == "answerCallbackQuery"]) == 1, shown  # the press, answered once
    assert texts.ERROR not in shown
    checkins = select(func.count()).select_from(StudyCheckin)
    entries = select(func.count()).select_from(CreditEntry).where(CreditEntry.source_type == "checkin")
    assert await cluster.count(checkins, entries) == [1, 1]
    await all_processed(cluster, [helped, offered, pressed])
    # Each duplicate was claimed by one worker and skipped by the other, before any handler ran.
    for update_id in (helped, offered, pressed):
        skipped = [w for w, bot in cluster.workers.items() if f"update {update_id} already processed" in bot.output()]
        assert len(skipped) == 1, (update_id, skipped)
