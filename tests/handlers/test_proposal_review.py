"""Staff side of micro-proposals: /review (red first), transitions with notifications exactly once,
refused transitions, non-staff presses, merging, the three-colour digest, rating and reopening."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from handlers import proposal_jobs, texts
from handlers.context import BotApplication, Services
from store.models import Member
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.handlers.test_proposals import TEXT, TITLE, forge, submit

MEMBER, OTHER, STAFF = 1001, 1002, 9001
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
async def people(roster, services: Services, bot_app: BotApplication) -> list[Member]:
    services.clock = lambda: NOW
    assert bot_app.job_queue is not None
    (outbox,) = bot_app.job_queue.get_jobs_by_name(proposal_jobs.OUTBOX_JOB)
    outbox.enabled = False  # drained explicitly below, so each test sees exactly what it caused
    return await roster(
        {"name": "张明", "telegram_id": MEMBER},
        {"name": "王芳", "telegram_id": OTHER},
        {"name": "李干事", "role": "staff", "telegram_id": STAFF},
    )


async def drain(app: BotApplication, fake: FakeBotApi, user: int) -> list[str]:
    """Run the outbox job (twice: a second run must send nothing) and return what ``user`` received."""
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(proposal_jobs.OUTBOX_JOB)
    since = fake.mark()
    await job.run(app)
    await job.run(app)
    return [c.text or "" for c in fake.replies_since(since, chat_id=user)]


async def item(services: Services, number: str = "WJY-2026-0001") -> dict:
    async with services.db.session() as session:
        records = await repo.export_all(session, now=services.clock(), tz=services.tz, config=ProposalsConfig())
    return next(r for r in records if r["number"] == number)


async def test_review_loop_notifies_the_member_once_per_transition(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await submit(chat)
    queue = await chat.send(STAFF, "/review")
    assert "WJY-2026-0001" in queue.text and "已提交" in queue.text
    card = await chat.tap(STAFF, "⚪ WJY-2026-0001")
    assert TEXT in card.text
    assert card.buttons == ["受理", "不予受理", "合并", "转社情民意"]
    done = await chat.tap(STAFF, "受理")
    assert texts.PROPOSAL_REVIEW_DONE.format(number="WJY-2026-0001", action="受理") in done.text
    assert "交办" in done.buttons and "受理" not in done.buttons
    assert await drain(bot_app, fake, MEMBER) == [
        texts.PROPOSAL_NOTIFY["accept"].format(who="您的微建议", number="WJY-2026-0001", title=TITLE)]

    prompt = await chat.tap(STAFF, "交办")
    assert prompt.texts == [texts.PROPOSAL_REVIEW_PROMPT_ASSIGN.format(days=15)]
    assert (await chat.send(STAFF, "市交通运输局 2020-01-01")).texts == [texts.PROPOSAL_REVIEW_BAD_DEADLINE]
    await chat.send(STAFF, "市交通运输局 2026-12-31")
    assert (await item(services))["unit"] == "市交通运输局"
    assert await drain(bot_app, fake, MEMBER) == [texts.PROPOSAL_NOTIFY["assign"].format(
        who="您的微建议", number="WJY-2026-0001", title=TITLE, unit="市交通运输局", deadline="2026-12-31")]

    await chat.tap(STAFF, "答复")
    await chat.send(STAFF, "已规划开通夜间公交 N3 线路，2027 年 1 月运营。")
    (answer,) = await drain(bot_app, fake, MEMBER)
    assert "已规划开通夜间公交 N3 线路" in answer and texts.PROPOSAL_ASK_RATING in answer
    rated = await chat.tap(MEMBER, "满意")
    assert rated.texts == [texts.PROPOSAL_RATED.format(rating="满意", number="WJY-2026-0001")]
    record = await item(services)
    assert record["status"] == "closed" and record["rating"] == "satisfied"
    assert [e["status"] for e in record["events"]] == ["submitted", "accepted", "assigned", "answered", "closed"]
    assert await drain(bot_app, fake, MEMBER) == []  # the member's own rating needs no notification
    assert chat.errors == []


async def test_dissatisfied_reopens_once(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await submit(chat)
    async with services.db.session() as session:
        p = await repo.get_by_number(session, number="WJY-2026-0001")
        assert p is not None
        staff = people[2]
        steps: list[tuple[str, dict[str, Any]]] = [("accept", {}), ("assign", {"unit": "市交通运输局"}),
                                                   ("answer", {"reply": "研究中"})]
        for action, kw in steps:
            await repo.transition(session, proposal=p, action=Action(action), actor=Actor.STAFF, actor_member=staff,
                                  now=NOW, tz=services.tz, config=ProposalsConfig(), **kw)
    await drain(bot_app, fake, MEMBER)
    reopened = await chat.tap(MEMBER, "不满意")
    assert reopened.texts == [texts.PROPOSAL_RATED_REOPENED.format(number="WJY-2026-0001")]
    assert (await item(services))["status"] == "assigned"
    assert await forge(chat, MEMBER, "wjy:rt:1:dissatisfied") == [
        texts.PROPOSAL_TRANSITION_REFUSED.format(status="已交办")]


async def test_refused_transitions_and_non_staff_presses_change_nothing(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await submit(chat)
    assert await forge(chat, STAFF, "wjy:a:1:ans") == [texts.PROPOSAL_TRANSITION_REFUSED.format(status="已提交")]
    assert await forge(chat, STAFF, "wjy:a:1:zzz") == [texts.STALE_BUTTON]
    assert await forge(chat, STAFF, "wjy:s:424242") == [texts.STALE_BUTTON]
    assert await forge(chat, MEMBER, "wjy:a:1:acc") == [texts.STAFF_ONLY]
    assert await forge(chat, OTHER, "wjy:m:1:1") == [texts.STAFF_ONLY]
    assert (await chat.send(MEMBER, "/review")).texts == [texts.STAFF_ONLY]
    refused = [texts.PROPOSAL_TRANSITION_REFUSED.format(status="已提交")]
    refused = [texts.PROPOSAL_TRANSITION_REFUSED.format(status="已提交")]
    assert await forge(chat, MEMBER, "wjy:rt:1:satisfied") == refused
    record = await item(services)
    assert record["status"] == "submitted" and len(record["events"]) == 1
    assert await drain(bot_app, fake, MEMBER) == []


async def test_merge_makes_every_author_follow_the_main_item(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await submit(chat, MEMBER)
    await chat.send(OTHER, "希望老城区开通夜班公交，方便下夜班的工人回家")
    await chat.tap(OTHER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(OTHER, "城乡建设")
    await chat.tap(OTHER, texts.BTN_CONFIRM)
    await chat.tap(OTHER, texts.BTN_PROPOSAL_SUBMIT_ANYWAY)
    await chat.send(STAFF, "/review")
    await chat.tap(STAFF, "⚪ WJY-2026-0002")
    choose = await chat.tap(STAFF, "合并")
    assert "WJY-2026-0001" in choose.text
    await chat.tap(STAFF, texts.BTN_PROPOSAL_MERGE_INTO.format(number="WJY-2026-0001"))
    assert (await item(services, "WJY-2026-0002"))["merged_into"] == "WJY-2026-0001"
    (merged_note,) = await drain(bot_app, fake, OTHER)
    assert "WJY-2026-0001" in merged_note and "合并办理" in merged_note
    await chat.send(STAFF, "/review")
    await chat.tap(STAFF, "⚪ WJY-2026-0001")
    await chat.tap(STAFF, "受理")
    since = fake.mark()
    assert bot_app.job_queue is not None
    (job,) = bot_app.job_queue.get_jobs_by_name(proposal_jobs.OUTBOX_JOB)
    await job.run(bot_app)
    to_member = [c.text for c in fake.replies_since(since, chat_id=MEMBER)]
    to_other = [c.text for c in fake.replies_since(since, chat_id=OTHER)]
    assert to_member == [texts.PROPOSAL_NOTIFY["accept"].format(who="您的微建议", number="WJY-2026-0001", title=TITLE)]
    assert to_other == [texts.PROPOSAL_NOTIFY["accept"].format(
        who=texts.PROPOSAL_WHO["merged"], number="WJY-2026-0001", title=TITLE)]


async def test_queue_is_red_first_and_the_digest_counts_colours(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    deadlines = {"WJY-2026-0001": date(2026, 12, 20), "WJY-2026-0002": date(2026, 12, 1),
                 "WJY-2026-0003": date(2026, 11, 28)}
    for n in range(3):
        await submit(chat, MEMBER, f"建议第{n + 1}号路口增设红绿灯和斑马线，保障行人安全", category="社会治理")
        async with services.db.session() as session:
            p = await repo.get_by_number(session, number=f"WJY-2026-000{n + 1}")
            assert p is not None
            await repo.transition(session, proposal=p, action=Action.ACCEPT, actor=Actor.STAFF,
                                  actor_member=people[2], now=NOW, tz=services.tz, config=ProposalsConfig(),
                                  deadline=deadlines[p.number])
    await submit(chat, OTHER, "建议在滨江公园增设公共厕所和饮水点")  # waiting, no deadline
    services.clock = lambda: datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # Beijing 2026-11-30 12:00
    queue = await chat.send(STAFF, "/review")
    assert queue.buttons == ["🔴 WJY-2026-0003", "🟡 WJY-2026-0002", "🟢 WJY-2026-0001", "⚪ WJY-2026-0004"]
    assert texts.PROPOSAL_REVIEW_HEAD.format(count=4, red=1, yellow=1) in queue.text
    assert (await item(services, "WJY-2026-0003"))["warning"] == "red"
    assert (await item(services, "WJY-2026-0004"))["warning"] is None
    assert bot_app.job_queue is not None
    (digest_job,) = bot_app.job_queue.get_jobs_by_name(proposal_jobs.DIGEST_JOB)
    since = fake.mark()
    await digest_job.run(bot_app)
    (digest,) = [c.text or "" for c in fake.replies_since(since, chat_id=STAFF_CHAT_ID)]
    assert texts.PROPOSAL_DIGEST.format(date="2026-11-30", total=4, red=1, yellow=1, green=1, waiting=1) in digest
    assert digest.index("WJY-2026-0003") < digest.index("WJY-2026-0002") and "WJY-2026-0001" not in digest


async def test_staff_prompt_can_be_cancelled(
    chat: Dialogue, bot_app: BotApplication, people: list[Member], services: Services
) -> None:
    await submit(chat)
    await chat.send(STAFF, "/review")
    await chat.tap(STAFF, "⚪ WJY-2026-0001")
    assert (await chat.tap(STAFF, "不予受理")).texts == [texts.PROPOSAL_REVIEW_PROMPT_REJECT]
    assert (await chat.send(STAFF, "/cancel")).texts == [texts.PROPOSAL_REVIEW_CANCELLED]
    assert (await item(services))["status"] == "submitted"
    await chat.tap(STAFF, "不予受理")
    await chat.send(STAFF, "属于个人诉求，请通过12345热线反映")
    record = await item(services)
    assert record["status"] == "rejected" and record["events"][-1]["note"] == "属于个人诉求，请通过12345热线反映"
    assert (await chat.send(STAFF, "/cancel")).texts != [texts.PROPOSAL_REVIEW_CANCELLED]  # nothing pending now


async def test_notifications_wait_for_the_end_of_quiet_hours(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await submit(chat)
    await chat.send(STAFF, "/review")
    await chat.tap(STAFF, "⚪ WJY-2026-0001")
    services.clock = lambda: datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # 23:30 in Beijing: quiet hours
    await chat.tap(STAFF, "受理")
    assert await drain(bot_app, fake, MEMBER) == []
    services.clock = lambda: datetime(2026, 11, 26, 23, 59, tzinfo=UTC)  # 07:59: still quiet
    assert await drain(bot_app, fake, MEMBER) == []
    services.clock = lambda: datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # 08:00: the window has ended
    assert await drain(bot_app, fake, MEMBER) == [
        texts.PROPOSAL_NOTIFY["accept"].format(who="您的微建议", number="WJY-2026-0001", title=TITLE)]
