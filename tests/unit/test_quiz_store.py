"""Quiz questions and answers on both backends: review gate, one answer per member and question, points and cap."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from store.credits.rules import default_rules
from store.db import Database
from store.models import CreditEntry, Member, QuizAnswer
from store.quiz import repository as quiz

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 26)
RULES = default_rules()


def _spec(n: int, **changes: object) -> quiz.QuestionSpec:
    fields: dict[str, object] = dict(kind="cloze", stem=f"题{n}：每届任期____。", options=["三年", "五年", "十年"],
                                     answer=1, title="章程", article="第五十二条", quote="每届任期五年。", key=f"k{n}")
    fields.update(changes)
    return quiz.QuestionSpec(**fields)  # type: ignore[arg-type]  # test data


async def _people(db: Database) -> dict[str, Member]:
    async with db.session() as session:
        people = {role: Member(name=role, role=role, telegram_id=100 + i)
                  for i, role in enumerate(("member", "staff", "reviewer", "admin"))}
        session.add_all(people.values())
    return people


async def _approved(db: Database, people: dict[str, Member], n: int) -> list[int]:
    async with db.session() as session:
        await quiz.save_generated(session, specs=[_spec(i) for i in range(n)], now=NOW)
        ids = [q.id for q in await quiz.list_questions(session, status=quiz.DRAFT)]
        for qid in ids:
            await quiz.review(session, question_id=qid, reviewer=people["reviewer"], approve=True, now=NOW)
    return ids


async def test_generated_questions_are_drafts_and_stored_once(db: Database) -> None:
    async with db.session() as session:
        assert await quiz.save_generated(session, specs=[_spec(1), _spec(2)], now=NOW) == 2
    async with db.session() as session:
        assert await quiz.save_generated(session, specs=[_spec(1), _spec(3)], now=NOW) == 1  # k1 is known
        assert await quiz.counts(session) == {"draft": 3, "approved": 0, "rejected": 0}


@pytest.mark.parametrize("changes, code", [
    ({"options": ["甲"]}, "options"), ({"options": ["甲", "甲"]}, "duplicate"), ({"answer": 5}, "answer"),
    ({"stem": " "}, "stem"), ({"kind": "essay"}, "kind"), ({"options": ["甲", ""]}, "options"),
])
def test_validation(changes: dict[str, object], code: str) -> None:
    with pytest.raises(quiz.QuizError) as caught:
        quiz.validate(_spec(0, **changes))
    assert caught.value.code == code


async def test_only_reviewers_and_admins_review_and_only_once(db: Database) -> None:
    people = await _people(db)
    async with db.session() as session:
        await quiz.save_generated(session, specs=[_spec(1), _spec(2)], now=NOW)
        first, second = (q.id for q in await quiz.list_questions(session, status=quiz.DRAFT))
    for role in ("member", "staff"):
        async with db.session() as session:
            with pytest.raises(quiz.QuizError, match="forbidden"):
                await quiz.review(session, question_id=first, reviewer=people[role], approve=True, now=NOW)
    async with db.session() as session:
        done = await quiz.review(session, question_id=first, reviewer=people["reviewer"], approve=True, now=NOW)
        assert done.status == quiz.APPROVED and done.reviewed_by == people["reviewer"].id
        await quiz.review(session, question_id=second, reviewer=people["admin"], approve=False, now=NOW)
    async with db.session() as session:
        with pytest.raises(quiz.QuizError, match="reviewed"):
            await quiz.review(session, question_id=first, reviewer=people["admin"], approve=False, now=NOW)
        assert (await quiz.get(session, question_id=first)).status == quiz.APPROVED  # type: ignore[union-attr]  # exists


async def test_staff_questions_need_review_unless_a_reviewer_adds_them(db: Database) -> None:
    people = await _people(db)
    async with db.session() as session:
        by_staff = await quiz.add_staff_question(session, author=people["staff"], spec=_spec(1, key=None), now=NOW)
        by_reviewer = await quiz.add_staff_question(session, author=people["reviewer"], spec=_spec(2, key=None),
                                                    now=NOW)
        with pytest.raises(quiz.QuizError, match="forbidden"):
            await quiz.add_staff_question(session, author=people["member"], spec=_spec(3, key=None), now=NOW)
    assert (by_staff.status, by_staff.origin) == (quiz.DRAFT, "staff")
    assert (by_reviewer.status, by_reviewer.reviewed_by) == (quiz.APPROVED, people["reviewer"].id)


async def test_daily_question_is_approved_unanswered_and_fixed_for_the_day(db: Database) -> None:
    people = await _people(db)
    async with db.session() as session:
        await quiz.save_generated(session, specs=[_spec(9)], now=NOW)  # a draft: never picked
    ids = await _approved(db, people, 3)
    member = people["member"]
    async with db.session() as session:
        today = await quiz.daily_question(session, member_id=member.id, day=TODAY)
        assert today is not None and today.status == quiz.APPROVED
        assert (await quiz.daily_question(session, member_id=people["staff"].id, day=TODAY)).id == today.id  # type: ignore[union-attr]  # found
        other_days = {(await quiz.daily_question(session, member_id=member.id, day=TODAY + timedelta(d))).id  # type: ignore[union-attr]  # found
                      for d in range(10)}
        assert len(other_days) > 1 and other_days <= set(ids)
        result = await quiz.answer(session, member=member, question_id=today.id, choice=0, via="quiz", now=NOW,
                                   rules=RULES)
        assert result.outcome is quiz.Outcome.WRONG
        after = await quiz.daily_question(session, member_id=member.id, day=TODAY)
        assert after is not None and after.id != today.id  # never one already answered


async def test_answers_count_once_and_points_stop_at_the_cap(db: Database) -> None:
    people = await _people(db)
    ids = await _approved(db, people, 4)
    member = people["member"]
    outcomes = []
    for qid in ids[:3]:
        async with db.session() as session:
            outcomes.append(await quiz.answer(session, member=member, question_id=qid, choice=1, via="quiz",
                                              now=NOW, rules=RULES))
    assert [(r.outcome, r.points, r.capped) for r in outcomes] == [
        (quiz.Outcome.CORRECT, 1, False), (quiz.Outcome.CORRECT, 1, False), (quiz.Outcome.CORRECT, 0, True)]
    async with db.session() as session:
        again = await quiz.answer(session, member=member, question_id=ids[0], choice=0, via="quiz", now=NOW,
                                  rules=RULES)
        assert again.outcome is quiz.Outcome.DUPLICATE
        daily = await quiz.answer(session, member=member, question_id=ids[3], choice=1, via="daily", now=NOW,
                                  rules=RULES)
        assert daily.outcome is quiz.Outcome.CORRECT
        assert (await quiz.day_stats(session, member_id=member.id, day=TODAY)) == quiz.DayStats(4, 4)
        points = await session.scalar(select(func.sum(CreditEntry.points)).where(CreditEntry.source_type == "quiz"))
    assert points == 2
    tomorrow = NOW + timedelta(days=1)
    async with db.session() as session:
        await quiz.save_generated(session, specs=[_spec(7)], now=NOW)
        new = (await quiz.list_questions(session, status=quiz.DRAFT))[0]
        await quiz.review(session, question_id=new.id, reviewer=people["admin"], approve=True, now=NOW)
        second_daily = await quiz.answer(session, member=member, question_id=new.id, choice=1, via="daily",
                                         now=NOW, rules=RULES)
        assert second_daily.outcome is quiz.Outcome.DAILY_DONE  # one 每日一题 a day
        next_day = await quiz.answer(session, member=member, question_id=new.id, choice=1, via="daily",
                                     now=tomorrow, rules=RULES)
        assert next_day.outcome is quiz.Outcome.CORRECT and next_day.points == 1  # a new day, a new cap


async def test_drafts_and_bad_options_cannot_be_answered(db: Database) -> None:
    people = await _people(db)
    async with db.session() as session:
        await quiz.save_generated(session, specs=[_spec(1)], now=NOW)
        draft = (await quiz.list_questions(session, status=quiz.DRAFT))[0]
        result = await quiz.answer(session, member=people["member"], question_id=draft.id, choice=1, via="daily",
                                   now=NOW, rules=RULES)
        assert result.outcome is quiz.Outcome.UNAVAILABLE
    ids = await _approved(db, people, 1)
    async with db.session() as session:
        for choice in (-1, 3, 99):
            bad = await quiz.answer(session, member=people["member"], question_id=ids[0], choice=choice,
                                    via="daily", now=NOW, rules=RULES)
            assert bad.outcome is quiz.Outcome.UNAVAILABLE
        assert await session.scalar(select(func.count()).select_from(QuizAnswer)) == 0


async def test_two_sessions_answering_at_once_record_one_answer(db: Database) -> None:
    people = await _people(db)
    ids = await _approved(db, people, 1)

    async def tap() -> quiz.Outcome:
        async with db.session() as session:
            return (await quiz.answer(session, member=people["member"], question_id=ids[0], choice=1, via="daily",
                                      now=NOW, rules=RULES)).outcome

    outcomes = await asyncio.gather(tap(), tap())
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(QuizAnswer)) == 1
        assert await session.scalar(select(func.sum(CreditEntry.points))) == 1
    # the loser is refused, as a duplicate or (if it read after the winner's commit between its two
    # checks) as today's question already answered: either way nothing more is recorded
    winner, loser = sorted(outcomes, key=lambda o: o != quiz.Outcome.CORRECT)
    assert winner == quiz.Outcome.CORRECT
    assert loser in (quiz.Outcome.DUPLICATE, quiz.Outcome.DAILY_DONE)
