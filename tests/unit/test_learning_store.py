"""The learning library's store: pages, the reading points rule, 学完打卡 once across two transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from handlers.context import Services
from store.credits.rules import DEFAULT_RULES_FILE, RulesError, default_rules, parse_rules
from store.learning import materials as materials_repo
from store.learning import reading as reading_repo
from store.learning import stats as learning_stats
from store.learning.pages import PAGE_CHARS, split_pages
from store.models import CreditEntry, LearningMaterial, Member, StudyCheckin
from tests.support.clock import TestClock

TODAY = date(2026, 11, 25)


def test_pages_fit_a_phone_and_keep_articles_whole() -> None:
    text = "\n".join(f"第{i}条 " + "委员应当认真学习，积极履职。" * 8 for i in range(1, 21))
    pages = split_pages(text)
    assert len(pages) > 3 and all(len(p) <= PAGE_CHARS for p in pages)
    assert all(p.startswith("第") for p in pages)  # every page starts with an article
    assert "".join(pages).replace("\n", "") == text.replace("\n", "")  # nothing lost, nothing repeated
    assert split_pages(text) == pages  # deterministic


def test_long_paragraphs_break_at_sentences_and_headings_lose_their_marks() -> None:
    sentence = "这是一个完整的句子。"
    pages = split_pages("# 标题\n\n" + sentence * 200)
    assert pages[0].startswith("标题\n") and all(len(p) <= PAGE_CHARS for p in pages)
    assert all(p.endswith("。") for p in pages)
    huge = split_pages("无标点" * 1000)  # no sentence end at all: cut hard, still within a page
    assert all(len(p) <= PAGE_CHARS for p in huge) and "".join(huge) == "无标点" * 1000
    assert split_pages("") == [""]


def test_reading_points_follow_the_rules() -> None:
    rules = default_rules()
    assert rules.reading_points(estimated_minutes=40, read_seconds=20 * 60) == (2, True)  # half the estimate
    assert rules.reading_points(estimated_minutes=40, read_seconds=20 * 60 - 1) == (1, False)
    assert rules.reading_points(estimated_minutes=60, read_seconds=10) == (1, False)  # 3 × 0.5, rounded down
    assert rules.reading_points(estimated_minutes=5, read_seconds=300) == (1, True)  # at least one unit
    text = rules_text(min_read_fraction="0.5", short_read_factor="0")
    strict = parse_rules(text)
    assert strict.reading_points(estimated_minutes=40, read_seconds=10) == (0, False)
    with pytest.raises(RulesError, match="short_read_factor"):
        parse_rules(rules_text(min_read_fraction="0.5", short_read_factor="2"))


def rules_text(*, min_read_fraction: str, short_read_factor: str) -> str:
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    return (text.replace("min_read_fraction = 0.5", f"min_read_fraction = {min_read_fraction}")
                .replace("short_read_factor = 0.5", f"short_read_factor = {short_read_factor}"))


@pytest.fixture
async def member(roster: Callable[..., Awaitable[list[Member]]]) -> Member:
    [found] = await roster({"name": "张明", "telegram_id": 1001})
    return found


async def _material(services: Services, **kwargs: object) -> LearningMaterial:
    fields: dict[str, object] = {"title": "读本", "kind": "text", "body": "第一条 短文。", "estimated_minutes": 40,
                                 **kwargs}
    async with services.db.session() as session:
        return await materials_repo.create_material(session, data=materials_repo.MaterialInput(**fields),  # type: ignore[arg-type]
                                                    created_by=None, now=services.clock())


async def test_finish_counts_once_when_two_transactions_race(
    services: Services, member: Member, clock: TestClock
) -> None:
    material = await _material(services)
    async with services.db.session() as session:
        await reading_repo.open_page(session, member_id=member.id, material=material, page=1, now=clock())
    clock.advance(minutes=25)
    rules = default_rules()
    async with services.db.session() as first, services.db.session() as second:
        loaded = await reading_repo.get_reading(second, member_id=member.id, material_id=material.id)
        assert loaded is not None and loaded.finished_at is None  # the second worker read it unfinished
        done = await reading_repo.finish(first, member_id=member.id, material=material, rules=rules, now=clock(),
                                         today=TODAY)
        await first.commit()
        with pytest.raises(reading_repo.ReadingError) as refused:
            await reading_repo.finish(second, member_id=member.id, material=material, rules=rules, now=clock(),
                                      today=TODAY)
        assert refused.value.code == "already"
        await second.rollback()
    assert done.full and done.award.points == 2
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CreditEntry)) == 1
        assert await session.scalar(select(func.count()).select_from(StudyCheckin)) == 1


async def test_materials_lists_and_validation(services: Services, member: Member, clock: TestClock) -> None:
    await _material(services, title="甲", topics=("理论学习",), required_from=TODAY,
                    required_until=TODAY + timedelta(9))
    clock.advance(minutes=1)
    await _material(services, title="乙", topics=("经济发展", "理论学习"))
    clock.advance(minutes=1)
    await _material(services, title="丙", topics=("自定义",))
    async with services.db.session() as session:
        assert [m.title for m in await materials_repo.newest(session)] == ["丙", "乙", "甲"]
        assert [m.title for m in await materials_repo.by_topic(session, topic="理论学习")] == ["乙", "甲"]
        assert [m.title for m in await materials_repo.required(session, today=TODAY)] == ["甲"]
        assert await materials_repo.required(session, today=TODAY + timedelta(10)) == []
        assert await materials_repo.topics_in_use(session, catalogue=("经济发展", "理论学习", "社会民生")) == [
            "经济发展", "理论学习", "自定义"]
        overview = await learning_stats.overview(session, today=TODAY)
    assert overview.materials == 3 and overview.opened == 0 and overview.required_missing_members == 1
    for bad, code in ((dict(title=" "), "title"), (dict(estimated_minutes=0), "minutes"), (dict(kind="pdf"), "kind"),
                      (dict(body=""), "body"), (dict(kind="link", link_url="javascript:alert(1)"), "link"),
                      (dict(required_from=TODAY), "required"),
                      (dict(required_from=TODAY, required_until=TODAY - timedelta(1)), "required")):
        data = materials_repo.MaterialInput(**{"title": "t", "kind": "text", "body": "b", "estimated_minutes": 5,
                                               **bad})  # type: ignore[arg-type]
        with pytest.raises(materials_repo.MaterialError) as refused:
            materials_repo.validate(data)
        assert refused.value.code == code, bad
    with pytest.raises(materials_repo.MaterialError):
        materials_repo.validate(materials_repo.MaterialInput(title="t", kind="text", body="b", estimated_minutes=5,
                                                             topics=("炒股",)), catalogue=("理论学习",))
