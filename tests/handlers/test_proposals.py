"""Micro-proposals as dialogues: offer → card → number, edits, bad input, /my, rating, withdrawal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from handlers import proposal_jobs, texts
from handlers.context import BotApplication, Services
from store.models import Member
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

MEMBER, OTHER, STAFF = 1001, 1002, 9001
TEXT = "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"
TITLE = "关于在老城区增设夜间公交线路的建议"
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
async def people(roster, services: Services) -> list[Member]:
    services.clock = lambda: NOW
    return await roster(
        {"name": "张明", "telegram_id": MEMBER},
        {"name": "王芳", "telegram_id": OTHER},
        {"name": "李干事", "role": "staff", "telegram_id": STAFF},
    )


async def exported(services: Services) -> list[dict]:
    async with services.db.session() as session:
        return await repo.export_all(session, now=services.clock(), tz=services.tz, config=ProposalsConfig())


async def draft_of(services: Services, member: Member) -> dict | None:
    async with services.db.session() as session:
        draft = await repo.get_draft(session, member_id=member.id)
        return None if draft is None else {"step": draft.step, **draft.data}


async def forge(chat: Dialogue, user: int, data: str) -> list[str]:
    """A button press with hand-made ``data`` on a message in the user's private chat."""
    message = {"message_id": 1, "date": 1_764_000_000, "chat": {"id": user, "type": "private"}, "text": "…"}
    return (await chat.process(chat.fake.api.user_presses(user, data, message=message))).texts


async def submit(chat: Dialogue, user: int = MEMBER, text: str = TEXT, category: str = "城乡建设") -> str:
    offer = await chat.send(user, text)
    assert offer.buttons == [texts.BTN_PROPOSAL_RECORD, texts.BTN_PROPOSAL_NOT_NOW]
    await chat.tap(user, texts.BTN_PROPOSAL_RECORD)
    card = await chat.tap(user, category)
    assert card.buttons == [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL]
    return (await chat.tap(user, texts.BTN_CONFIRM)).text


async def test_suggestion_is_offered_confirmed_and_numbered(
    chat: Dialogue, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    offer = await chat.send(MEMBER, TEXT)
    assert offer.texts == [texts.PROPOSAL_OFFER.format(preview=TEXT)]
    assert await exported(services) == []  # never recorded silently
    ask = await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    assert ask.texts == [texts.PROPOSAL_ASK_CATEGORY]
    assert "城乡建设" in ask.buttons and "其他" in ask.buttons
    card = await chat.tap(MEMBER, "城乡建设")
    assert f"标题：{TITLE}" in card.text and "类别：城乡建设" in card.text and TEXT in card.text
    done = await chat.tap(MEMBER, texts.BTN_CONFIRM)
    assert done.texts == [texts.PROPOSAL_SUBMITTED.format(number="WJY-2026-0001")]
    (item,) = await exported(services)
    assert item["status"] == "submitted" and item["member"] == {"name": "张明", "telegram_id": MEMBER}
    assert (item["title"], item["content"], item["category"]) == (TITLE, TEXT, "城乡建设")
    assert await draft_of(services, people[0]) is None
    staff_alerts = [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=STAFF_CHAT_ID)]
    assert any("WJY-2026-0001" in t for t in staff_alerts)


async def test_declining_the_offer_records_nothing(chat: Dialogue, people: list[Member], services: Services) -> None:
    await chat.send(MEMBER, "希望学校周边增加护学岗，保障学生安全")
    replies = await chat.tap(MEMBER, texts.BTN_PROPOSAL_NOT_NOW)
    assert replies.texts == [texts.PROPOSAL_OFFER_DECLINED]
    assert await exported(services) == [] and await draft_of(services, people[0]) is None


async def test_edit_any_field_then_submit_with_place_and_photos(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    await chat.send(MEMBER, TEXT)
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(MEMBER, "城乡建设")
    assert (await chat.tap(MEMBER, texts.BTN_EDIT)).buttons[:5] == list(texts.PROPOSAL_FIELD_LABELS.values())
    await chat.tap(MEMBER, "标题")
    card = await chat.send(MEMBER, "增设老城区夜班公交")
    assert "标题：增设老城区夜班公交" in card.text
    await chat.tap(MEMBER, texts.BTN_EDIT)
    await chat.tap(MEMBER, "类别")
    assert "类别：社会民生" in (await chat.tap(MEMBER, "社会民生")).text
    await chat.tap(MEMBER, texts.BTN_EDIT)
    await chat.tap(MEMBER, "地点")
    assert "地点：解放路公交站" in (await chat.send(MEMBER, "解放路公交站")).text
    await chat.tap(MEMBER, texts.BTN_EDIT)
    await chat.tap(MEMBER, "照片")
    assert (await chat.send_photo(MEMBER)).texts == [texts.PROPOSAL_PHOTO_ADDED.format(count=1, max=9)]
    await chat.send_photo(MEMBER)
    assert "照片：2 张" in (await chat.tap(MEMBER, texts.BTN_PROPOSAL_DONE)).text
    await chat.tap(MEMBER, texts.BTN_EDIT)
    await chat.tap(MEMBER, "内容")
    card = await chat.send(MEMBER, "建议老城区增设夜间公交线路，覆盖三个工业园区")
    assert "覆盖三个工业园区" in card.text and "标题：增设老城区夜班公交" in card.text  # edited title kept
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    (item,) = await exported(services)
    assert item["title"] == "增设老城区夜班公交" and item["category"] == "社会民生"
    assert item["place"] == "解放路公交站" and len(item["photos"]) == 2
    assert all(p["file_id"] and p["file_unique_id"] for p in item["photos"])


async def test_photo_with_caption_and_location(chat: Dialogue, people: list[Member], services: Services) -> None:
    offer = await chat.send_photo(MEMBER, caption="幸福路的路灯坏了两个月了，晚上很不安全")
    assert offer.buttons == [texts.BTN_PROPOSAL_RECORD, texts.BTN_PROPOSAL_NOT_NOW]
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(MEMBER, "城乡建设")
    card = await chat.send_location(MEMBER, 29.56301, 106.55156)
    assert "地点：29.56301, 106.55156" in card.text and "照片：1 张" in card.text
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    (item,) = await exported(services)
    assert item["location"] == [29.56301, 106.55156] and len(item["photos"]) == 1


async def test_draft_survives_a_restart(
    app_factory: Callable[..., Awaitable[BotApplication]], fake: FakeBotApi, people: list[Member],
    services: Services,
) -> None:
    first = Dialogue(fake, await app_factory())
    assert (await first.send(MEMBER, "/propose")).texts == [texts.PROPOSAL_ASK_CONTENT]
    await first.send(MEMBER, TEXT)
    second = Dialogue(fake, await app_factory())  # a new Application on the same database
    card = await second.tap(MEMBER, "教育文化")
    assert "类别：教育文化" in card.text
    await second.tap(MEMBER, texts.BTN_CONFIRM)
    assert [i["number"] for i in await exported(services)] == ["WJY-2026-0001"]


async def test_bad_input_gets_clear_replies_and_changes_nothing(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    await chat.send(MEMBER, "/propose")
    assert (await chat.send(MEMBER, "修路")).texts == [texts.PROPOSAL_CONTENT_SHORT.format(min=10)]
    assert (await chat.send(MEMBER, "   ")).texts == [texts.PROPOSAL_CONTENT_EMPTY]
    huge = await chat.send(MEMBER, "长" * 10_000)
    assert huge.texts == [texts.TOO_LONG.format(length=10_000, limit=4096)]
    long = await chat.send(MEMBER, "长" * 3000)
    assert long.texts == [texts.PROPOSAL_CONTENT_LONG.format(length=3000, max=2000)]
    sticker = await chat.send_sticker(MEMBER)
    assert sticker.texts == [texts.PROPOSAL_MEDIA_UNSUPPORTED.format(kind="贴纸")]
    assert await draft_of(services, people[0]) == {"step": "content", "photos": []}
    assert (await chat.send(MEMBER, "/cancel")).texts == [texts.PROPOSAL_DRAFT_CANCELLED]
    assert await draft_of(services, people[0]) is None
    assert (await chat.send(MEMBER, "建议" + "长" * 3000)).texts == [
        texts.PROPOSAL_CONTENT_LONG.format(length=3002, max=2000)]
    assert await draft_of(services, people[0]) is None and await exported(services) == []


async def test_forged_and_foreign_buttons_change_nothing(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    await chat.send(MEMBER, TEXT)
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    before = await draft_of(services, people[0])
    assert before is not None and before["step"] == "category"
    async with services.db.session() as session:
        draft = await repo.get_draft(session, member_id=people[0].id)
        assert draft is not None
        draft_id = draft.id
    assert await forge(chat, MEMBER, f"wjy:cat:{draft_id}:99") == [texts.STALE_BUTTON]
    assert await forge(chat, MEMBER, f"wjy:ok:{draft_id}") == [texts.STALE_BUTTON]  # not at the card yet
    assert await forge(chat, MEMBER, "wjy:ok:999999") == [texts.PROPOSAL_DRAFT_GONE]
    assert await forge(chat, MEMBER, "wjy:zz:1") == [texts.STALE_BUTTON]
    assert await forge(chat, MEMBER, "wjy:cat:1:1:1") == [texts.STALE_BUTTON]
    assert await forge(chat, OTHER, f"wjy:cat:{draft_id}:0") == [texts.PROPOSAL_DRAFT_GONE]
    assert await forge(chat, OTHER, f"wjy:no:{draft_id}") == [texts.PROPOSAL_DRAFT_GONE]
    assert await draft_of(services, people[0]) == before
    assert await exported(services) == []


async def test_my_lists_items_and_the_member_can_withdraw(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    assert (await chat.send(MEMBER, "/my")).texts == [texts.PROPOSAL_MY_EMPTY]
    await submit(chat)
    listing = await chat.send(MEMBER, "/my")
    assert "WJY-2026-0001" in listing.text and "已提交" in listing.text
    view = await chat.tap(MEMBER, "WJY-2026-0001")
    assert TEXT in view.text and view.buttons == [texts.BTN_PROPOSAL_WITHDRAW]
    assert await forge(chat, OTHER, "wjy:v:1") == [texts.PROPOSAL_NOT_YOURS]
    assert await forge(chat, OTHER, "wjy:wdy:1") == [texts.PROPOSAL_NOT_YOURS]
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_WITHDRAW)
    done = await chat.tap(MEMBER, texts.BTN_PROPOSAL_WITHDRAW_CONFIRM)
    assert done.texts == [texts.PROPOSAL_WITHDRAWN.format(number="WJY-2026-0001")]
    assert await forge(chat, MEMBER, "wjy:wdy:1") == [texts.PROPOSAL_TRANSITION_REFUSED.format(status="已撤回")]
    (item,) = await exported(services)
    assert [e["status"] for e in item["events"]] == ["submitted", "withdrawn"]


async def test_similar_item_can_be_seconded_instead_of_filed(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    await submit(chat, MEMBER)
    await chat.send(OTHER, "建议老城区增设夜间公交线路，方便夜班工人")
    await chat.tap(OTHER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(OTHER, "城乡建设")
    similar = await chat.tap(OTHER, texts.BTN_CONFIRM)
    assert texts.PROPOSAL_SIMILAR_HEAD in similar.text and "WJY-2026-0001" in similar.text
    assert similar.buttons == [texts.BTN_PROPOSAL_SUPPORT.format(n=1), texts.BTN_PROPOSAL_SUBMIT_ANYWAY,
                               texts.BTN_CANCEL]
    seconded = await chat.tap(OTHER, texts.BTN_PROPOSAL_SUPPORT.format(n=1))
    assert seconded.texts == [texts.PROPOSAL_SUPPORTED.format(number="WJY-2026-0001", title=TITLE)]
    (item,) = await exported(services)
    assert item["supporters"] == 1
    listing = await chat.send(OTHER, "/my")
    assert "WJY-2026-0001" in listing.text and texts.PROPOSAL_MY_SUPPORTED in listing.text
    # Submitting anyway is still possible.
    await chat.send(OTHER, "建议老城区增设夜间公交线路，并延长末班车时间")
    await chat.tap(OTHER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(OTHER, "城乡建设")
    await chat.tap(OTHER, texts.BTN_CONFIRM)
    done = await chat.tap(OTHER, texts.BTN_PROPOSAL_SUBMIT_ANYWAY)
    assert done.texts == [texts.PROPOSAL_SUBMITTED.format(number="WJY-2026-0002")]


async def test_abandoned_draft_is_kept_and_reminded_once(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await chat.send(MEMBER, "/propose")
    await chat.send(MEMBER, TEXT)
    services.clock = lambda: NOW + timedelta(hours=25)
    assert bot_app.job_queue is not None
    (job,) = bot_app.job_queue.get_jobs_by_name(proposal_jobs.REMINDER_JOB)
    before = fake.mark()
    await job.run(bot_app)
    await job.run(bot_app)
    reminders = [c for c in fake.replies_since(before, chat_id=MEMBER)]
    assert len(reminders) == 1 and reminders[0].text == texts.PROPOSAL_DRAFT_REMINDER.format(preview=TEXT)
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_CONTINUE)
    card = await chat.tap(MEMBER, "其他")
    assert "类别：其他" in card.text
    assert chat.errors == []


async def test_similarity_uses_the_knowledge_embedder_when_there_is_one(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    from types import SimpleNamespace

    from knowledge.embedders import HashEmbedder

    services.knowledge = SimpleNamespace(embedder=HashEmbedder())
    await submit(chat, MEMBER)
    async with services.db.session() as session:
        stored = await repo.get_by_number(session, number="WJY-2026-0001")
        assert stored is not None and stored.embedder_id == "hash-256" and len(stored.embedding or []) == 256
    await chat.send(OTHER, "建议在老城区增设夜间公交线路，夜班工人回家很不方便")
    await chat.tap(OTHER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(OTHER, "城乡建设")
    similar = await chat.tap(OTHER, texts.BTN_CONFIRM)
    assert "WJY-2026-0001" in similar.text and texts.BTN_PROPOSAL_SUPPORT.format(n=1) in similar.buttons
    await chat.send(OTHER, "希望学校周边增加护学岗，保障学生上下学安全")  # unrelated: filed straight away
    await chat.tap(OTHER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(OTHER, "教育文化")
    done = await chat.tap(OTHER, texts.BTN_CONFIRM)
    assert done.texts == [texts.PROPOSAL_SUBMITTED.format(number="WJY-2026-0002")]
