"""Quiz answers in the learning figures and pushes: a wrong answer on a question citing a document counts
for the topics of the materials made from that document (store/learning/quiz_links.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from handlers.context import Services
from store.credits.rules import default_rules
from store.learning import materials as materials_repo
from store.learning import pushes, quiz_links
from store.models import LearningMaterial, Member
from store.preferences import PrefsDefaults
from store.quiz import repository as quiz_repo
from tests.support.clock import TestClock

CHARTER = "政协章程.md"


@pytest.fixture
async def members(roster: Callable[..., Awaitable[list[Member]]]) -> list[Member]:
    return await roster({"name": "张明", "telegram_id": 1001}, {"name": "王芳", "telegram_id": 1002})


async def _material(services: Services, title: str, topics: tuple[str, ...], kb_source: str | None = None
                    ) -> LearningMaterial:
    async with services.db.session() as session:
        return await materials_repo.create_material(session, created_by=None, now=services.clock(),
                                                    data=materials_repo.MaterialInput(
            title=title, kind="kb" if kb_source else "text", body="第一条 短文。", estimated_minutes=10,
            topics=topics, kb_source=kb_source))


async def _questions(services: Services, n: int, *, source: str, topic: str) -> list[int]:
    specs = [quiz_repo.QuestionSpec(kind="choice", stem=f"题{source}{i}", options=["甲", "乙", "丙"], answer=0,
                                    source=source, title="章程", article=f"第{i + 1}条", quote="甲。", topic=topic,
                                    key=f"{source}-{i}") for i in range(n)]
    async with services.db.session() as session:
        await quiz_repo.seed_approved(session, specs=specs, now=services.clock())
        found = [q.id for q in await quiz_repo.list_questions(session, status="approved", limit=100)]
    return sorted(found)[-n:]


async def _answer(services: Services, member: Member, question_id: int, *, right: bool) -> None:
    async with services.db.session() as session:
        result = await quiz_repo.answer(session, member=member, question_id=question_id, choice=0 if right else 1,
                                        via="quiz", now=services.clock(), rules=default_rules())
    assert result.outcome == (quiz_repo.Outcome.CORRECT if right else quiz_repo.Outcome.WRONG)


async def test_wrong_answers_count_for_the_topics_of_the_materials_of_their_document(
    services: Services, members: list[Member], clock: TestClock
) -> None:
    zhang, wang = members
    charter = await _material(services, "章程读本", ("理论学习", "政协知识"), kb_source=CHARTER)
    await _material(services, "别的读本", ("社会民生",))
    charter_qs = await _questions(services, 3, source=CHARTER, topic="中国人民政治协商会议章程")
    tagged = await _questions(services, 1, source="其他.md", topic="社会民生")  # a staff question's own topic
    other = await _questions(services, 1, source="宪法.md", topic="宪法")  # no material, not a library topic
    await _answer(services, zhang, charter_qs[0], right=False)
    await _answer(services, zhang, charter_qs[1], right=False)
    await _answer(services, zhang, charter_qs[2], right=True)
    await _answer(services, zhang, tagged[0], right=False)
    await _answer(services, zhang, other[0], right=False)
    await _answer(services, wang, charter_qs[0], right=True)

    async with services.db.session() as session:
        wrong = await quiz_links.wrong_topics(session)
        by_material = await quiz_links.accuracy_by_material(session)
        by_member = await quiz_links.accuracy_by_member_topic(session)
    assert wrong == {zhang.id: {"理论学习": 2, "政协知识": 2, "社会民生": 1}}
    assert by_material == {charter.id: quiz_links.Accuracy(answered=4, correct=2)}
    assert by_member[zhang.id]["理论学习"] == quiz_links.Accuracy(3, 1)
    assert by_member[zhang.id]["社会民生"] == quiz_links.Accuracy(1, 0)
    assert by_member[wang.id] == {"理论学习": quiz_links.Accuracy(1, 1), "政协知识": quiz_links.Accuracy(1, 1)}


async def test_next_weeks_plan_favours_the_topic_of_a_wrong_answer(
    services: Services, members: list[Member], clock: TestClock
) -> None:
    zhang, wang = members
    await _material(services, "章程读本", ("政协知识",), kb_source=CHARTER)
    clock.advance(minutes=1)
    economy = await _material(services, "经济读本", ("经济发展",))  # newer: "new" alone would pick it first
    [question] = await _questions(services, 1, source=CHARTER, topic="章程")
    await _answer(services, zhang, question, right=False)
    now = clock()
    week_from = (now + timedelta(days=7 - now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    config = pushes.LearningPushConfig(per_week=1)
    async with services.db.session() as session:
        plan = await pushes.compute_plan(session, week_from=week_from, now=now, config=config,
                                         defaults=PrefsDefaults(), tz=services.tz)
    first = {p.member_id: p for p in plan}
    assert first[zhang.id].reason == "wrong" and first[zhang.id].topic == "政协知识"
    assert first[wang.id].material_id == economy.id and first[wang.id].reason == "new"


async def test_quiz_points_count_as_their_own_evidence_in_the_credit_report(
    services: Services, members: list[Member], clock: TestClock
) -> None:
    from store.credits import reports

    zhang, _ = members
    [question] = await _questions(services, 1, source=CHARTER, topic="章程")
    await _answer(services, zhang, question, right=True)
    async with services.db.session() as session:
        by_evidence = await reports.points_by_evidence(session, period=reports.year_period(clock().year))
    assert "quiz" in reports.EVIDENCE_KINDS and by_evidence == {zhang.id: {"quiz": 1}}
