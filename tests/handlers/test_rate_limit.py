"""One budget for Telegram's limits, in the production build: a broadcast runs while members get replies.

The app is ``build_application`` as ``run`` and ``webhook`` build it (the shared limiter included); its
limiter's clock is a ``ManualTime`` the test moves from timer to timer, so the fake Bot API's timestamps
are the instants the limiter let each call go.
"""

from __future__ import annotations

import asyncio
import bisect
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from bot.app import build_application, rate_limits
from bot.localapi import Call
from bot.settings import Settings
from handlers import texts
from handlers.broadcast import run_due
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import BotApplication, Services
from handlers.rate_limit import ManualTime, Priority, SharedRateLimiter
from store.broadcasts import outbox
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

MEMBERS = 90
FIRST = 30_001
ASKER = 1001


class Driver:
    """Moves the limiter's clock from one timer to the next once every granted call reached the fake."""

    def __init__(self, app: BotApplication, fake: FakeBotApi, time: ManualTime) -> None:
        limiter = app.bot.rate_limiter
        assert isinstance(limiter, SharedRateLimiter)
        self.limiter, self.fake, self.time = limiter, fake, time
        self.stamps: list[tuple[float, Call]] = []
        fake.api.listeners.append(lambda call: self.stamps.append((time.now, call)))
        self._changed = asyncio.Event()
        limiter.on_change = self._changed.set

    def _settled(self) -> bool:
        reached = sum(1 for c in self.fake.api.calls if c.method != "getUpdates")
        return reached == sum(self.limiter.stats.granted.values())

    async def settle(self) -> None:
        assert await self.fake.api.wait_until(self._settled, timeout=10)

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait (without moving the clock) until ``predicate()`` holds; it is checked on every limiter change."""
        async with asyncio.timeout(10):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def step(self) -> None:
        """Fire the next timer (waiting for the limiter to arm one) and let its calls reach the fake."""
        await self.settle()
        await self.until(self.time.pending)
        self.time.step()
        await self.settle()

    async def run(self, *tasks: asyncio.Future[Any]) -> None:
        """Step until ``tasks`` are done."""
        async with asyncio.timeout(30):
            while not all(t.done() for t in tasks):
                await self.settle()
                if self.time.pending():
                    self.time.step()
                    continue
                self._changed.clear()
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({changed, *tasks}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
        await self.settle()
        for task in tasks:
            task.result()

    def sends(self, chats: set[int] | None = None) -> list[tuple[float, Call]]:
        return [(t, c) for t, c in self.stamps if c.method == "sendMessage" and c.ok
                and (chats is None or c.chat_id in chats)]


def _max_in_window(times: list[float], period: float) -> int:
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + period - 1e-9) - i for i, t in enumerate(ordered)), default=0)


async def _setup(roster: Callable[..., Awaitable[list[Any]]], services: Services,
                 app_factory: Callable[..., Awaitable[BotApplication]], fake: FakeBotApi
                 ) -> tuple[BotApplication, Driver, set[int]]:
    members = [{"name": f"委员{i:03d}", "telegram_id": FIRST + i} for i in range(MEMBERS)]
    await roster({"name": "张明", "telegram_id": ASKER, "sector": "教育界"}, *members)
    time = ManualTime()
    app = await app_factory(limiter_time=time)
    driver = Driver(app, fake, time)
    async with services.db.session() as s:
        await outbox.create(s, new=outbox.NewBroadcast(text="委员您好，本周五下午召开常委会。",
                                                       audience=[{"sector": ["经济界"]}], urgent=True),
                            now=services.clock(), tz=services.tz, defaults=services.config(BroadcastConfig).defaults)
    return app, driver, {FIRST + i for i in range(MEMBERS)}


async def test_a_reply_goes_out_before_the_rest_of_a_running_broadcast_within_the_budget(
    roster: Callable[..., Awaitable[list[Any]]], services: Services, fake: FakeBotApi,
    app_factory: Callable[..., Awaitable[BotApplication]],
) -> None:
    app, driver, members = await _setup(roster, services, app_factory, fake)
    sending = asyncio.ensure_future(run_due(app))
    await driver.until(lambda: driver.limiter.queued(Priority.BULK) > 0)  # the broadcast used this tenth
    for _ in range(9):  # a second of the broadcast: 3 notices a tenth
        await driver.step()
    before = len(driver.sends(members))
    assert before == 30 and driver.limiter.queued(Priority.BULK) > 3  # the second's budget is spent
    reply = asyncio.ensure_future(Dialogue(fake, app).send(ASKER, "/help"))
    await driver.until(lambda: driver.limiter.queued(Priority.REPLY) == 1)
    await driver.step()
    after_step = [c.chat_id for _, c in driver.sends()][before:]
    assert after_step[0] == ASKER  # first in the next slot, ahead of every queued broadcast send
    await driver.run(sending, reply)
    assert texts.HELP_MEMBER_HEAD in (await reply).text
    sent = driver.sends(members)
    assert sorted(int(c.chat_id or 0) for _, c in sent) == sorted(members)  # everyone once
    limits = driver.limiter.limits
    every = [t for t, c in driver.stamps if c.chat_id is not None]
    assert _max_in_window(every, 1.0) == int(limits.overall)  # the budget is used, never exceeded
    assert _max_in_window([t for t, _ in sent], 0.1) == 3  # the broadcast spread in tenths


async def test_a_429_on_a_reply_pauses_the_broadcast_and_vice_versa(
    roster: Callable[..., Awaitable[list[Any]]], services: Services, fake: FakeBotApi,
    app_factory: Callable[..., Awaitable[BotApplication]],
) -> None:
    app, driver, members = await _setup(roster, services, app_factory, fake)
    sending = asyncio.ensure_future(run_due(app))
    await driver.until(lambda: driver.limiter.queued(Priority.BULK) > 0)
    fake.fail_next("sendMessage", 429, retry_after=4)  # the next send is the reply: the notices wait a tenth
    reply = asyncio.ensure_future(Dialogue(fake, app).send(ASKER, "/help"))
    assert await fake.api.wait_until(lambda: any(not c.ok for c in fake.api.calls), timeout=10)
    await driver.settle()
    failed = [(t, c) for t, c in driver.stamps if not c.ok]
    assert [c.chat_id for _, c in failed] == [ASKER]
    paused_at = failed[0][0]
    calls = len(driver.stamps)
    while len(driver.stamps) == calls:  # to the next instant anything goes: the pause's end
        await driver.step()
    assert driver.time.now == paused_at + 4
    assert not [c for t, c in driver.stamps if paused_at < t < paused_at + 4]  # nothing during the pause
    assert driver.sends()[-3][1].chat_id == ASKER  # the retried reply first, then the broadcast goes on
    await driver.run(reply)

    # ... and a 429 on a broadcast send pauses the replies
    await driver.until(lambda: driver.limiter.queued(Priority.BULK) > 0)
    fake.fail_next("sendMessage", 429, retry_after=6)
    await driver.step()
    bulk_failed = [(t, c) for t, c in driver.stamps if not c.ok][-1]
    assert bulk_failed[1].chat_id in members
    second = asyncio.ensure_future(Dialogue(fake, app).send(ASKER, "/help"))
    await driver.until(lambda: driver.limiter.queued(Priority.REPLY) == 1)
    await driver.run(sending, second)
    answered = next(t for t, c in driver.sends({ASKER}) if t > bulk_failed[0])
    assert answered == bulk_failed[0] + 6
    assert not [c for t, c in driver.stamps if bulk_failed[0] < t < bulk_failed[0] + 6]
    assert driver.limiter.stats.throttled == {Priority.REPLY: 1, Priority.BULK: 1}
    assert sorted(int(c.chat_id or 0) for _, c in driver.sends(members)) == sorted(members)


async def test_handler_tests_run_the_production_build(bot_app: BotApplication, settings: Settings) -> None:
    limiter = bot_app.bot.rate_limiter
    assert type(limiter) is SharedRateLimiter and limiter.limits == rate_limits(settings)
    assert "rate_limiter" not in inspect.signature(build_application).parameters  # no way to build without it
