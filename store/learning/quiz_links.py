"""How quiz answers bear on learning: the topics of a member's wrong answers (what the push planner favours)
and quiz accuracy per material and per member and topic (the console's 学习 page, /stats).

A question cites a document; a material made from that knowledge-base document (``kb_source``) shares
its questions. A question's topics are the topics of those materials, plus its own topic when that is
one of the library's topics (a staff question tagged 理论学习); generated questions carry the
document's title as their topic, which is no /settings topic, so the materials decide.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import LearningMaterial, QuizAnswer, QuizQuestion


@dataclass(frozen=True)
class Accuracy:
    answered: int
    correct: int

    @property
    def share(self) -> float | None:
        return self.correct / self.answered if self.answered else None


async def _topics_by_source(session: AsyncSession) -> tuple[dict[str, set[str]], set[str]]:
    """Document → topics of the active materials made from it, and every topic in the library."""
    by_source: dict[str, set[str]] = defaultdict(set)
    every: set[str] = set()
    rows = await session.execute(select(LearningMaterial.kb_source, LearningMaterial.topics)
                                 .where(LearningMaterial.active.is_(True)))
    for source, topics in rows.all():
        every.update(topics or ())
        if source:
            by_source[source].update(topics or ())
    return by_source, every


def _question_topics(source: str, topic: str, by_source: dict[str, set[str]], every: set[str]) -> set[str]:
    found = set(by_source.get(source, ()))
    if topic in every:
        found.add(topic)
    return found


async def _answer_counts(session: AsyncSession) -> list[tuple[int, str, str, bool, int]]:
    """(member, question source, question topic, correct, answers) over every recorded answer."""
    rows = await session.execute(
        select(QuizAnswer.member_id, QuizQuestion.source, QuizQuestion.topic, QuizAnswer.correct, func.count())
        .join(QuizQuestion, QuizQuestion.id == QuizAnswer.question_id)
        .group_by(QuizAnswer.member_id, QuizQuestion.source, QuizQuestion.topic, QuizAnswer.correct))
    return [(int(m), str(s or ""), str(t or ""), bool(c), int(n)) for m, s, t, c, n in rows.all()]


async def wrong_topics(session: AsyncSession) -> dict[int, dict[str, int]]:
    """member id → {library topic: wrong quiz answers on it} (``LearningPushConfig.wrong_topics``)."""
    by_source, every = await _topics_by_source(session)
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, source, topic, correct, n in await _answer_counts(session):
        if correct:
            continue
        for name in _question_topics(source, topic, by_source, every):
            out[member_id][name] += n
    return {m: dict(t) for m, t in out.items()}


async def accuracy_by_material(session: AsyncSession) -> dict[int, Accuracy]:
    """material id → answers to the questions citing its document, and how many were right."""
    sources = dict((await session.execute(
        select(LearningMaterial.id, LearningMaterial.kb_source).where(LearningMaterial.kb_source.is_not(None))
    )).all())
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _member, source, _topic, correct, n in await _answer_counts(session):
        totals[source][0] += n
        totals[source][1] += n if correct else 0
    return {int(mid): Accuracy(*totals[src]) for mid, src in sources.items() if src in totals}


async def accuracy_by_member_topic(session: AsyncSession) -> dict[int, dict[str, Accuracy]]:
    """member id → {library topic: their answers on it and how many were right}."""
    by_source, every = await _topics_by_source(session)
    totals: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for member_id, source, topic, correct, n in await _answer_counts(session):
        for name in _question_topics(source, topic, by_source, every):
            totals[member_id][name][0] += n
            totals[member_id][name][1] += n if correct else 0
    return {m: {t: Accuracy(*v) for t, v in topics.items()} for m, topics in totals.items()}
