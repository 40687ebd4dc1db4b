"""Photos of micro-proposals are downloaded into the data dir (for the console), outside any transaction;
a failed download keeps the file id and the item and is tried again later; two senders never fetch one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers import proposal_jobs, texts
from handlers.context import BotApplication, Services
from store.models import Member, ProposalPhoto
from store.proposals import photos
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.handlers.test_proposals import MEMBER, NOW

JPEG = b"\xff\xd8\xff\xe0 a photo of a broken street lamp"


@pytest.fixture
async def people(roster, services: Services, bot_app: BotApplication) -> list[Member]:
    services.clock = lambda: NOW
    assert bot_app.job_queue is not None
    (job,) = bot_app.job_queue.get_jobs_by_name(proposal_jobs.PHOTOS_JOB)
    job.enabled = False  # run by hand below
    return await roster({"name": "张明", "telegram_id": MEMBER})


async def _submit_with_photos(chat: Dialogue, count: int) -> None:
    await chat.send_photo(MEMBER, JPEG, caption="幸福路的路灯坏了两个月了，晚上很不安全")
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    await chat.tap(MEMBER, "城乡建设")
    for n in range(count - 1):
        await chat.send_photo(MEMBER, JPEG + bytes([n]))
    done = await chat.tap(MEMBER, texts.BTN_CONFIRM)
    assert "WJY-2026-0001" in done.text


async def _photos(services: Services) -> list[ProposalPhoto]:
    async with services.db.session() as session:
        item = await repo.get_by_number(session, number="WJY-2026-0001")
        assert item is not None
        return list(item.photos)


async def test_submitted_photos_are_stored_in_the_data_dir(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await _submit_with_photos(chat, 2)
    assert [p.local_path for p in await _photos(services)] == [None, None]
    assert await proposal_jobs.fetch_photos(bot_app.bot, services) == 2
    assert await proposal_jobs.fetch_photos(bot_app.bot, services) == 0  # each once
    folder = services.config(ProposalsConfig).photo_dir
    assert folder is not None
    stored = await _photos(services)
    assert all(p.local_path and p.file_id for p in stored)  # the file id is kept beside the file
    files = [photos.stored_file(folder, p) for p in stored]
    assert [f.read_bytes() if f else None for f in files] == [JPEG, JPEG + b"\x00"]
    assert all(f is not None and f.is_relative_to(folder) and f.name.startswith("1-") for f in files)
    assert len(fake.bot_calls("getFile")) == 2


async def test_a_failed_download_keeps_the_item_and_is_retried(
    chat: Dialogue, bot_app: BotApplication, fake: FakeBotApi, people: list[Member], services: Services
) -> None:
    await _submit_with_photos(chat, 1)
    fake.fail_next("getFile", 400)
    assert await proposal_jobs.fetch_photos(bot_app.bot, services) == 0
    [photo] = await _photos(services)
    assert photo.local_path is None and photo.file_id and photo.fetch_attempts == 1
    assert await proposal_jobs.fetch_photos(bot_app.bot, services) == 0  # not before the back-off
    services.clock = lambda: NOW + timedelta(seconds=31)
    assert await proposal_jobs.fetch_photos(bot_app.bot, services) == 1
    [photo] = await _photos(services)
    assert photo.local_path is not None and photo.fetch_attempts == 2


async def test_a_claimed_photo_is_not_claimed_again(people: list[Member], chat: Dialogue,
                                                    services: Services) -> None:
    await _submit_with_photos(chat, 1)
    async with services.db.session() as session:
        first = await photos.claim_downloads(session, now=NOW)
    async with services.db.session() as session:
        second = await photos.claim_downloads(session, now=NOW)  # another worker, meanwhile
    assert len(first) == 1 and second == []
    async with services.db.session() as session:  # the lease ran out (the first worker died): taken again
        third = await photos.claim_downloads(session, now=NOW + photos.LEASE)
    assert [d.photo_id for d in third] == [first[0].photo_id]
